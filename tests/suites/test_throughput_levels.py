"""Load levels of the throughput suite: goodput under SLOs, chosen percentiles, warm-up / cool-down, the sweep.

Expected figures are set by the calibration server: a dataset of two prompts, 10 and 100 words long, against
1 ms of prefill per word, gives TTFTs of ~15 and ~105 ms in equal numbers, so a TTFT SLO of 60 ms is met by
exactly half the requests; K capacity slots of a known service time cap the rate at K / service time.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlx_benchmarks.errors import BenchError, DatasetError, UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.load_levels import LevelReport, Levels
from mlx_benchmarks.suites.rate_options import RateOptions
from mlx_benchmarks.suites.speed_common import PromptMaker
from mlx_benchmarks.suites.speed_progress import SpeedProgress
from mlx_benchmarks.suites.sweep_knee import sweep, sweep_rates
from mlx_benchmarks.suites.throughput import ThroughputSuite
from mlx_benchmarks.suites.workload import Workload
from mlx_benchmarks.suites.workload_options import WorkloadOptions
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.suites.test_throughput import context, valid
from tests.suites.test_throughput_workloads import run_against


def two_lengths(tmp_path: Path) -> str:
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps({"id": name, "prompt": " ".join(["word"] * n), "output_tokens": 4})
                              for name, n in (("short", 10), ("long", 100))) + "\n")
    return str(path)


def by_name(outcome: SuiteOutcome) -> dict[str, Any]:
    return {r.name: r for r in outcome.results}


def test_goodput_counts_the_requests_meeting_every_slo(tmp_path: Path) -> None:
    server = CalibrationServer(ttft_ms=5, itl_ms=1, prefill_ms_per_token=1.0)
    outcome = asyncio.run(run_against(server, dataset=two_lengths(tmp_path), trials=2, warmup=0,
                                      concurrency="2", request_rate="20", rate_requests=8,
                                      slo="ttft_ms=60,tpot_ms=1000"))
    valid(outcome)
    names = by_name(outcome)
    for level in ("concurrency_2", "rate_20"):
        share = names[f"{level}_slo_attainment"]
        assert share.value == 0.5 and share.unit == "ratio", "the 10-word half (~15 ms) meets 60 ms, the rest not"
        assert share.tags["slo"] == "ttft_ms<=60,tpot_ms<=1000" and share.raw["trials"] == [0.5, 0.5]
        goodput = names[f"{level}_goodput_req_per_sec"]
        served = names[f"{level}_requests_per_sec"]
        assert goodput.unit == "req/s" and goodput.value == pytest.approx(served.value / 2, abs=1e-3)

    strict = asyncio.run(run_against(CalibrationServer(ttft_ms=5, itl_ms=1), prompt_lengths="8", gen_tokens="4",
                                     trials=1, warmup=0, concurrency="2", slo="ttft_ms=1"))
    assert by_name(strict)["concurrency_2_slo_attainment"].value == 0.0, "no request beats a 5 ms TTFT"
    assert by_name(strict)["concurrency_2_goodput_req_per_sec"].value == 0.0


def test_chosen_percentiles_match_numpy_on_the_recorded_samples() -> None:
    server = CalibrationServer(ttft_ms=5, itl_ms=1)
    outcome = asyncio.run(run_against(server, prompt_lengths="8", gen_tokens="4", trials=2, warmup=0,
                                      concurrency="3", percentiles="50,95,99.9"))
    names = by_name(outcome)
    assert "concurrency_3_ttft_p90_ms" not in names
    ttfts = [s["ttft_ms"] for s in outcome.samples if s["result"] == "concurrency_3"]
    assert len(ttfts) == 12
    for q in (50, 95, 99.9):
        result = names[f"concurrency_3_ttft_p{q:g}_ms"]
        assert result.value == pytest.approx(float(np.percentile(ttfts, q)), abs=1e-3)
        assert result.tags["percentile"] == f"p{q:g}" and len(result.raw["trials"]) == 2
    median = names["concurrency_3_ttft_p50_ms"]
    assert float(median.tags["stddev"]) == pytest.approx(float(np.std(ttfts, ddof=1)), abs=1e-3)
    assert float(median.tags["trial_min"]) == min(median.raw["trials"])
    rate = names["concurrency_3_output_tok_per_sec"]
    assert float(rate.tags["trial_max"]) == max(rate.raw["trials"])


def test_warm_up_and_cool_down_requests_are_sent_but_left_out() -> None:
    server = CalibrationServer(ttft_ms=5, itl_ms=1)
    outcome = asyncio.run(run_against(server, prompt_lengths="8", gen_tokens="4", trials=1, warmup=0,
                                      concurrency="1", level_warmup="2", level_cooldown="1"))
    samples = [s for s in outcome.samples if s["result"] == "concurrency_1"]
    assert len(samples) == 2 + 2 + 1, "two measured, plus the excluded ones"
    assert [s["excluded"] for s in samples] == [True, True, False, False, True]
    names = by_name(outcome)
    p50 = names["concurrency_1_ttft_p50_ms"]
    kept = [s["ttft_ms"] for s in samples if not s["excluded"]]
    assert p50.value == pytest.approx(float(np.percentile(kept, 50)), abs=1e-3)
    assert p50.tags["level_warmup"] == "2 requests" and p50.tags["level_cooldown"] == "1 requests"
    assert p50.tags["requests_excluded"] == "3" and p50.tags["requests_per_trial"] == "5"

    timed = asyncio.run(run_against(CalibrationServer(ttft_ms=5, itl_ms=1), prompt_lengths="8", gen_tokens="4",
                                    trials=1, warmup=0, request_rate="20", arrival="constant", rate_requests=12,
                                    level_warmup="0.12s"))
    samples = [s for s in timed.samples if s["result"] == "rate_20"]
    excluded = sum(s["excluded"] for s in samples)
    assert 2 <= excluded <= 4, "arrivals at 0, 50, 100 ms fall in the first 120 ms (a late one may not)"
    assert by_name(timed)["rate_20_requests_per_sec"].tags["level_warmup"] == "0.12 seconds"


def test_the_sweep_finds_the_knee_at_the_set_capacity() -> None:
    # two slots, 80 ms to the first token and 3 x 20 ms after it: 140 ms a request, at most ~14.3 requests/s
    # (long enough that the client's own cost on a busy machine is small beside it)
    service = 0.140
    capacity = 2 / service
    server = CalibrationServer(ttft_ms=80, itl_ms=20, capacity=2)
    outcome = asyncio.run(run_against(server, prompt_lengths="8", gen_tokens="4", trials=1, warmup=0, sweep=True,
                                      sweep_rates="4", rate_requests=16,
                                      slo="ttft_ms=1000"))
    valid(outcome)
    names = by_name(outcome)
    assert server.peak_in_service == 2
    knee = names["sweep_max_sustainable_rps"]
    assert knee.tags["found"] == "true" and 0.6 * capacity <= knee.value <= 1.05 * capacity
    assert 0.75 * capacity <= float(knee.tags["max_throughput_rps"]) <= 1.05 * capacity
    assert 0.75 / service <= float(knee.tags["sync_rps"]) <= 1.05 / service, "one at a time: one slot's pace"
    assert len(knee.raw["offered"]) == 4 and knee.value in knee.raw["offered"]
    assert knee.tags["arrival"] == "constant", "the sweep's default schedule"
    rates = [r for r in names if r.startswith("sweep_rate_") and r.endswith("_requests_per_sec")]
    assert len(rates) == 4
    within = names["sweep_max_rps_within_slo"]
    assert within.value == knee.value and within.tags["found"] == "true", "a 1 s TTFT is met at every sustained rate"


def test_the_sweep_reports_no_rate_within_an_unmeetable_slo() -> None:
    server = CalibrationServer(ttft_ms=20, itl_ms=2, capacity=1)
    outcome = asyncio.run(run_against(server, prompt_lengths="8", gen_tokens="4", trials=1, warmup=0, sweep=True,
                                      sweep_rates="2", rate_requests=8, max_concurrency=4, slo="ttft_ms=5"))
    names = by_name(outcome)
    assert names["sweep_max_rps_within_slo"].value == 0.0 and names["sweep_max_rps_within_slo"].tags["found"] == "false"
    assert names["sweep_max_sustainable_rps"].tags["max_throughput_concurrency"] == "4"


def test_sweep_rates_are_spaced_up_to_the_maximum() -> None:
    assert sweep_rates(10, 30, 4) == [15, 20, 25, 30]
    assert sweep_rates(10, 10.5, 2) == [7.75, 10.5], "no gain from concurrency: look from half the lower"
    assert sweep_rates(10, 6, 2) == [6.5, 10], "the maximum below one at a time (unequal prompts): the same"


@pytest.mark.parametrize(("options", "message"), [
    ({"slo": "ttft=5"}, "--slo: 'ttft=5' is not KEY=MS"),
    ({"slo": "ttft_ms=-1"}, "--slo ttft_ms: -1 must be a positive"),
    ({"slo": "ttft_ms=abc"}, "--slo ttft_ms: 'abc' is not a number"),
    ({"percentiles": "0,50"}, "--percentiles: 0 is not between 0 and 100"),
    ({"percentiles": "50,100"}, "--percentiles: 100 is not between"),
    ({"percentiles": "p99"}, "--percentiles: 'p99' is not a number"),
    ({"dataset_limit": "5"}, "--dataset-limit needs --dataset sample or a file"),
    ({"dataset": "sample", "min_prompt_tokens": "50", "max_prompt_tokens": "10"}, "--max-prompt-tokens: 10 is below"),
    ({"dataset": "sample", "dataset_limit": "0"}, "--dataset-limit: 0 is out of range"),
    ({"level_warmup": "-1s"}, "--level-warmup: -1s must not be negative"),
    ({"level_cooldown": "x"}, "--level-cooldown: 'x' is not a whole number"),
    ({"sweep_rates": "4"}, "--sweep-rates needs --sweep"),
    ({"sweep": True, "sweep_rates": "0"}, "--sweep-rates: 0 is out of range"),
    ({"shared_prefix": "0"}, "--shared-prefix: 0 is out of range"),
    ({"turns": "0"}, "--turns: 0 is out of range"),
])
def test_bad_workload_flags_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        ThroughputSuite().validate_options(options)


def test_an_unreadable_dataset_is_refused_before_any_request(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    for dataset, error in ((str(tmp_path / "missing.jsonl"), DatasetError), (str(bad), DatasetError)):
        with pytest.raises(error) as caught:
            ThroughputSuite().validate_options({"dataset": dataset})
        assert isinstance(caught.value, BenchError) and caught.value.exit_code == 2


class ScriptedLevels(Levels):
    """Test double: levels whose figures are scripted, so the sweep's decisions can be followed exactly."""

    capacity = 0.045  # requests/s the scripted target keeps up with

    async def concurrency(self, level: int, name: str | None = None, requests: int | None = None) -> LevelReport:
        return LevelReport(name or "", requests_per_s=0.048 if level == 1 else 0.059)

    async def rate(self, rate: float, rates: RateOptions, name: str | None = None) -> LevelReport:
        pace = min(rate, self.capacity)
        return LevelReport(name or "", offered=rate, paces=[(rate, pace)], send_lag_ms_p99=5.0, attainment=1.0)


def test_the_sweep_steps_below_its_grid_when_no_rate_there_is_sustained() -> None:
    # one at a time 0.048/s, the maximum 0.059/s (unequal prompts), the target keeps up with 0.045/s: every
    # rate of a grid from 0.048 up is too fast, so the sweep steps down 20% at a time until one is sustained
    async def go() -> SuiteOutcome:
        target = OpenAITarget("http://127.0.0.1:9/v1")
        ctx = context(target, sweep=True)
        outcome = SuiteOutcome()
        options = WorkloadOptions.parse({"sweep": True, "sweep_rates": "4"})
        levels = ScriptedLevels(ctx, ThroughputSuite().options({}), Workload(ctx, PromptMaker(ctx), options,
                                                                              length=8, gen=4),
                                options, None, outcome, SpeedProgress(ctx.console, "throughput", 0))
        await sweep(levels, RateOptions.parse({"sweep": True}))
        ctx.memory.stop()
        return outcome

    names = by_name(asyncio.run(go()))
    knee = names["sweep_max_sustainable_rps"]
    assert knee.tags["rates_tried"] == "0.0508,0.0535,0.0562,0.059,0.0406"
    assert knee.value == 0.0406 and knee.tags["found"] == "true"

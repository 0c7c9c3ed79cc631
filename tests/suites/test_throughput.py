"""ThroughputSuite against the calibration server (known timing) and the scripted server (failures)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from rich.console import Console

from mlx_benchmarks.envelope import Envelope
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.measure.timing import TIMING_DEFINITIONS
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.throughput import ThroughputSuite
from mlx_benchmarks.targets.base import Target
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.scripted_openai_server import Answer, HTTPFail, ScriptedOpenAIServer
from tests.measure.test_calibration_server import slack_ms

SYSTEM = {"os": "Linux", "chip": "test", "memory_gb": 1}


def context(target: Target, **options: Any) -> RunContext:
    sampler = MemorySampler().start()
    return RunContext(target=target, options={"client_check": False, **options}, console=Console(quiet=True),
                      memory=sampler, run_key="test-run")


async def run_suite(url: str, **options: Any) -> tuple[SuiteOutcome, OpenAITarget]:
    target = OpenAITarget(url)
    await target.start()
    ctx = context(target, **options)
    try:
        return await ThroughputSuite().run(ctx), target
    finally:
        ctx.memory.stop()
        await target.stop()


async def against_calibration(ttft_ms: float, itl_ms: float, **options: Any) -> tuple[SuiteOutcome, CalibrationServer]:
    server = CalibrationServer(ttft_ms=ttft_ms, itl_ms=itl_ms)
    await server.start()
    try:
        outcome, _ = await run_suite(server.url, **options)
    finally:
        await server.close()
    return outcome, server


def valid(outcome: SuiteOutcome) -> dict[str, Any]:
    envelope = Envelope(suite="throughput", model="m", system=SYSTEM, git_sha="abcdef0", results=outcome.results,
                        errors=outcome.errors)
    return envelope.validated()


def test_grid_results_have_decode_rate_trials_timing_fields_and_tags() -> None:
    outcome, server = asyncio.run(against_calibration(20, 4, prompt_lengths="16,64", gen_tokens="9", trials=3,
                                                      warmup=1))
    slack = slack_ms(server)
    valid(outcome)
    assert [r.name for r in outcome.results] == ["tok_per_sec_16", "tok_per_sec_64"]
    assert not outcome.errors and not outcome.partial
    for result in outcome.results:
        assert result.unit == "tok/s" and 1000 / (4 + slack) <= result.value <= 275, "8 gaps of 4 ms: 250 tok/s, less when the machine is busy"
        assert len(result.raw["trials"]) == 3 and result.decode_tokens_per_second == result.value
        assert result.first_token_latency_ms is not None and 20 <= result.first_token_latency_ms < 20 + slack
        assert result.peak_rss_mb is not None and result.peak_rss_mb > 0
        assert result.duration_seconds is not None and result.prompt_tokens_per_second is not None
        assert result.total_tokens_per_second is not None
        tags = result.tags
        assert {k: tags[k] for k in TIMING_DEFINITIONS} == TIMING_DEFINITIONS
        assert tags["token_count_source"] == "usage" and tags["output_tokens"] == "9" and tags["trials"] == "3"
        assert tags["server_decode_tok_per_sec"] == "not reported" and "client_overhead_us_per_event" in tags
    # the calibration server counts words as tokens: prompts land exactly on the requested length
    assert [r.tags["prompt_tokens"] for r in outcome.results] == ["16", "64"]
    assert all(s["prompt_tokens"] == s["prompt_tokens_requested"] for s in outcome.samples)
    assert len(outcome.samples) == 6 and {s["result"] for s in outcome.samples} == {"tok_per_sec_16", "tok_per_sec_64"}


def test_several_gen_lengths_get_suffixes() -> None:
    outcome, _ = asyncio.run(against_calibration(0, 1, prompt_lengths="8", gen_tokens="4,8", trials=1, warmup=0))
    assert [r.name for r in outcome.results] == ["tok_per_sec_8_g4", "tok_per_sec_8_g8"]
    assert [r.tags["output_tokens"] for r in outcome.results] == ["4", "8"]


def test_every_trial_prompt_is_unique() -> None:
    async def go() -> list[dict[str, Any]]:
        async with ScriptedOpenAIServer(script=[Answer(content=4)]) as server:
            await run_suite(server.url, prompt_lengths="32", gen_tokens="4", trials=4, warmup=1)
            return server.requests

    requests = asyncio.run(go())
    texts = [r["messages"][0]["content"] for r in requests]
    assert len(texts) == len(set(texts)) == 2 + 5, "two calibration probes, one warm-up, four trials"
    firsts = {t.split()[:6].__repr__() for t in texts}
    assert len(firsts) == len(texts), "no shared prefix for a prefix cache to serve"
    assert all(r["ignore_eos"] is True and r["temperature"] == 0.0 for r in requests[2:])


def test_concurrency_sweep_results() -> None:
    outcome, server = asyncio.run(against_calibration(10, 2, prompt_lengths="8", gen_tokens="6", trials=2,
                                                      warmup=0, concurrency="1,4"))
    valid(outcome)
    names = {r.name: r for r in outcome.results}
    for level in (1, 4):
        rate = names[f"concurrency_{level}_output_tok_per_sec"]
        assert rate.unit == "tok/s" and len(rate.raw["trials"]) == 2 and rate.tags["concurrency"] == str(level)
        assert names[f"concurrency_{level}_requests_per_sec"].unit == "req/s"
        for latency in ("ttft", "itl", "tpot", "e2e"):
            p50, p99 = names[f"concurrency_{level}_{latency}_p50_ms"], names[f"concurrency_{level}_{latency}_p99_ms"]
            assert p50.unit == "ms" and p50.value <= names[f"concurrency_{level}_{latency}_p90_ms"].value <= p99.value
        assert 10 <= names[f"concurrency_{level}_ttft_p50_ms"].value < 10 + slack_ms(server)
    rate1 = names["concurrency_1_output_tok_per_sec"].value
    rate4 = names["concurrency_4_output_tok_per_sec"].value
    assert rate4 > 1.5 * rate1, "four in flight against a server that overlaps them"


def test_failed_requests_are_counted_and_the_run_is_partial() -> None:
    def script(index: int, body: dict[str, Any]) -> Any:
        return HTTPFail(500, "boom") if index in (4, 6) else Answer(content=5, delay_s=0.002)

    async def go() -> SuiteOutcome:
        async with ScriptedOpenAIServer(script=script) as server:
            outcome, _ = await run_suite(server.url, prompt_lengths="8", gen_tokens="5", trials=6, warmup=0)
            return outcome

    outcome = asyncio.run(go())
    valid(outcome)
    assert outcome.partial and outcome.errors[0] == "2 of 6 measured requests failed: HTTP 500: boom"
    (result,) = outcome.results
    assert result.tags["trials"] == "4" and len(result.raw["trials"]) == 4
    assert sum(1 for s in outcome.samples if s["error"]) == 2


def test_in_run_client_check_tags_results() -> None:
    outcome, _ = asyncio.run(against_calibration(0, 1, prompt_lengths="8", gen_tokens="4", trials=1, warmup=0,
                                                 client_check=True))
    (result,) = outcome.results
    assert float(result.tags["client_ceiling_tok_per_sec"]) > 1000
    assert result.tags["near_client_ceiling"] == "false", "1 ms per token is far below the client's ceiling"
    assert abs(float(result.tags["client_ttft_error_ms_p50"])) < 10


@pytest.mark.parametrize("options", [{"prompt_lengths": "0,abc"}, {"prompt_lengths": "abc"}, {"trials": "0"},
                                     {"gen_tokens": "1"}, {"concurrency": "1,999"}, {"warmup": "-1"}])
def test_invalid_options_are_refused(options: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        ThroughputSuite().validate_options(options)


def test_request_rate_levels_report_offered_and_achieved_load() -> None:
    # the calibration server overlaps requests, so 20/s is kept up with; with one slot and 100 ms a request
    # only ~10/s can be served of the 40/s offered
    outcome, server = asyncio.run(against_calibration(100, 1, prompt_lengths="8", gen_tokens="4", trials=1,
                                                      warmup=0, request_rate="20", arrival="constant",
                                                      rate_requests=10))
    valid(outcome)
    names = {r.name: r for r in outcome.results}
    served = names["rate_20_requests_per_sec"]
    assert served.unit == "req/s" and served.tags["keeps_up"] == "true" and served.tags["request_rate"] == "20.0"
    assert served.tags["arrival"] == "constant" and served.tags["requests_per_trial"] == "10"
    assert served.tags["requests_not_sent"] == "0" and not outcome.errors
    assert int(served.tags["max_in_flight"]) >= 2, "arrivals every 50 ms, answers in 100 ms: they overlap"
    assert 100 <= names["rate_20_ttft_p50_ms"].value < 100 + slack_ms(server)
    assert len([s for s in outcome.samples if s["result"] == "rate_20"]) == 10, "one sample per request"
    assert 15 <= float(served.tags["answer_pace_per_sec"]) <= 25, "answers come at the arrivals' pace"

    capped, _ = asyncio.run(against_calibration(100, 1, prompt_lengths="8", gen_tokens="4", trials=1, warmup=0,
                                                request_rate="40", arrival="constant", rate_requests=8,
                                                max_concurrency=1))
    names = {r.name: r for r in capped.results}
    assert names["rate_40_requests_per_sec"].value < 12 and names["rate_40_requests_per_sec"].tags["keeps_up"] == "false"
    assert float(names["rate_40_requests_per_sec"].tags["answer_pace_per_sec"]) <= 11, "one slot: 100 ms each"
    assert names["rate_40_requests_per_sec"].tags["max_in_flight"] == "1"


@pytest.mark.parametrize(("options", "message"), [
    ({"request_rate": "0"}, "--request-rate: 0 must be a positive, finite number"),
    ({"request_rate": "2,fast"}, "--request-rate: 'fast' is not a number"),
    ({"request_rate": "2", "arrival": "gamma", "burstiness": "-1"}, "--burstiness: -1 must be a positive"),
    ({"request_rate": "2", "arrival": "bursty"}, "--arrival: 'bursty' is not one of"),
    ({"request_rate": "2", "burstiness": "0.5"}, "--burstiness applies to --arrival gamma"),
    ({"max_concurrency": "4"}, "--max-concurrency needs --request-rate"),
    ({"request_rate": "2", "rate_requests": 0}, "--rate-requests: 0 is out of range"),
    ({"arrival": "constant"}, "--arrival needs --request-rate"),
    ({"request_rate": "2", "max_concurrency": "0"}, "--max-concurrency: 0 is out of range"),
])
def test_bad_rate_flags_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        ThroughputSuite().validate_options(options)

"""SLO checks per request, goodput, level trimming and the spread beside a median (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from mlx_benchmarks.measure.goodput import attainment, goodput, meets, slo_text
from mlx_benchmarks.measure.load import LoadResult, trim
from mlx_benchmarks.measure.stats import label, spread_tags, stddev
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.targets.base import Usage

MS = 1_000_000


def answer(start_ms: float, ttft_ms: float, gaps_ms: list[float], error: str | None = None) -> Completion:
    start = int(start_ms * MS)
    times = [start + int(ttft_ms * MS)]
    for gap in gaps_ms:
        times.append(times[-1] + int(gap * MS))
    return Completion(start_ns=start, end_ns=times[-1], first_token_ns=times[0], token_times_ns=times,
                      usage=Usage(prompt_tokens=8, completion_tokens=len(times)), error=error)


def test_a_request_meets_an_slo_only_when_every_figure_is_within_it() -> None:
    fast = answer(0, 100, [10, 10, 10])
    assert meets(fast, {"ttft_ms": 100, "tpot_ms": 10, "e2e_ms": 130})
    assert not meets(fast, {"ttft_ms": 99})
    assert not meets(answer(0, 100, [10, 40, 10]), {"itl_ms": 30}), "one slow gap breaks an ITL limit"
    assert meets(answer(0, 100, [10, 40, 10]), {"tpot_ms": 20}), "the mean gap of 20 ms meets a TPOT of 20"
    assert meets(answer(0, 50, []), {"ttft_ms": 60, "tpot_ms": 1}), "one token: no TPOT to hold it to"
    assert not meets(answer(0, 10, [1], error="HTTP 500"), {"ttft_ms": 60}), "a failure never counts"
    assert slo_text({"ttft_ms": 500, "tpot_ms": 50.5}) == "ttft_ms<=500,tpot_ms<=50.5"


def test_attainment_and_goodput() -> None:
    done = [answer(i * 100, ttft, [5]) for i, ttft in enumerate((20, 80, 30, 90))]
    assert attainment(done, {"ttft_ms": 50}) == 0.5 and attainment([], {"ttft_ms": 50}) is None
    assert goodput(LoadResult(done, wall_s=2.0, cpu_s=0.1, concurrency=1), {"ttft_ms": 50}) == 1.0


def test_trimming_by_requests_and_by_seconds() -> None:
    done = [answer(i * 100, 10, [5]) for i in range(6)]  # starts at 0..500 ms, each 15 ms long
    load = LoadResult(list(reversed(done)), wall_s=1.0, cpu_s=0.6, concurrency=1)
    kept = trim(load, first=2, last=1)
    assert [c.start_ns // MS for c in kept.completions] == [200, 300, 400]
    assert kept.wall_s == pytest.approx(0.215) and kept.cpu_s == pytest.approx(0.3)
    by_time = trim(load, first=0.15, last=0.11, unit="seconds")
    assert [c.start_ns // MS for c in by_time.completions] == [200, 300], "ends within 110 ms of 515 ms are out"
    assert trim(load, first=4, last=2).completions == [] and trim(load) is load


def test_stddev_and_spread_match_numpy() -> None:
    values = [3.0, 7.5, 1.25, 9.0]
    assert stddev(values) == pytest.approx(float(np.std(values, ddof=1))) and stddev([1.0]) is None
    assert spread_tags(values, [2.0, 4.0]) == {"stddev": round(float(np.std(values, ddof=1)), 4),
                                               "trial_min": 2.0, "trial_max": 4.0}
    assert spread_tags([1.0]) == {"stddev": "n/a"}
    assert (label(99.9), label(50.0), label(95)) == ("p99.9", "p50", "p95")

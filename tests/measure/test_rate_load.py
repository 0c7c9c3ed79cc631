"""Open-loop arrivals: the schedule's statistics, and sending on schedule to the calibration server."""

from __future__ import annotations

import asyncio
import itertools
import statistics

import pytest

from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.measure.rate_load import RateLoadResult, arrival_offsets, run_rate
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget


def gaps(offsets: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(offsets)]


def test_constant_arrivals_are_evenly_spaced() -> None:
    assert arrival_offsets(4, 8.0, arrival="constant") == [0.0, 0.125, 0.25, 0.375]


@pytest.mark.parametrize(("arrival", "burstiness", "cv"), [("poisson", 1.0, 1.0), ("gamma", 0.25, 2.0),
                                                           ("gamma", 4.0, 0.5)])
def test_random_arrivals_have_the_asked_mean_and_spread(arrival: str, burstiness: float, cv: float) -> None:
    spaces = gaps(arrival_offsets(20001, 5.0, arrival=arrival, burstiness=burstiness, seed=7))
    mean = statistics.fmean(spaces)
    assert mean == pytest.approx(0.2, rel=0.04), "mean gap 1/rate whatever the shape"
    assert statistics.stdev(spaces) / mean == pytest.approx(cv, rel=0.08), "coefficient of variation 1/sqrt(shape)"


def test_the_schedule_is_seeded() -> None:
    assert arrival_offsets(50, 3.0, seed=1) == arrival_offsets(50, 3.0, seed=1)
    assert arrival_offsets(50, 3.0, seed=1) != arrival_offsets(50, 3.0, seed=2)


@pytest.mark.parametrize(("kwargs", "message"), [({"rate": 0.0}, "positive"), ({"rate": float("inf")}, "positive"),
                                                 ({"arrival": "bursty"}, "arrival"), ({"arrival": "gamma",
                                                                                       "burstiness": 0.0}, "burstiness")])
def test_bad_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"rate": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        arrival_offsets(3, **args)  # type: ignore[arg-type]


async def against_server(ttft_ms: float, **kwargs: object) -> RateLoadResult:
    server = CalibrationServer(ttft_ms=ttft_ms, itl_ms=1)
    await server.start()
    target = OpenAITarget(server.url)
    await target.start()
    try:
        return await run_rate(target, lambda i: ChatRequest(messages=[{"role": "user", "content": f"hi {i}"}],
                                                            max_tokens=4), **kwargs)  # type: ignore[arg-type]
    finally:
        await target.stop()
        await server.close()


def test_requests_leave_on_schedule_whether_or_not_earlier_ones_finished() -> None:
    # 20 a second, each taking 200 ms to its first token: about four overlap, as an open loop must allow
    result = asyncio.run(against_server(200, n_requests=12, rate=20.0, arrival="constant"))
    assert len(result.ok) == 12 and result.offered_rate == 20.0
    starts = sorted(c.start_ns for c in result.completions)
    spacing_ms = statistics.median(b / 1e6 - a / 1e6 for a, b in itertools.pairwise(starts))
    assert spacing_ms == pytest.approx(50, abs=15)
    assert result.max_in_flight >= 3, "a closed loop of one would never have more than one in flight"
    assert result.send_lag_ms_p50 is not None and result.send_lag_ms_p50 < 40


def test_a_concurrency_cap_holds_arrivals_back() -> None:
    result = asyncio.run(against_server(100, n_requests=6, rate=50.0, arrival="constant", max_concurrency=1))
    assert len(result.ok) == 6 and result.max_in_flight == 1
    spans = sorted((c.start_ns, c.end_ns) for c in result.completions)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), "never overlap"
    assert result.wall_s >= 0.6, "six answers of 100 ms one after another"


def test_requests_due_after_the_time_limit_are_not_sent_and_counted() -> None:
    result = asyncio.run(against_server(5, n_requests=5, rate=10.0, arrival="constant", time_limit_s=0.25))
    assert len(result.completions) == 3 and result.timed_out == 2, "due at 0, 0.1, 0.2 s; not at 0.3, 0.4 s"

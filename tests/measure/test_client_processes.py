"""``--client-processes``: one schedule striped over spawned workers, on one shared clock.

Against the calibration server (whose delays are the truth): N=1 (today's in-process path) and N=2 send
the same requests at the same offsets, every index exactly once; the realised rate is the schedule's own;
the TTFT error is what it is with one process.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer, SpawnedCalibrationServer
from mlx_benchmarks.measure.load import send
from mlx_benchmarks.measure.rate_load import arrival_offsets, run_rate
from mlx_benchmarks.measure.stats import median, percentile
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.measure.workers import (
    ClientProcesses,
    ceilings_with,
    max_in_flight,
    parse_client_processes,
    recipe_for,
    usable_cores,
)
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.echo_target import ScriptedTarget

N, RATE, SEED = 200, 80.0, 7  # a 2.5 s schedule: 0.5 % of it is 12 ms


def numbered(index: int, ttft_ms: float = 0.0) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": f"request {index}"}], max_tokens=4,
                       extra_body={"calibration_ttft_ms": ttft_ms})


@contextmanager
def recording_server(**kw: Any) -> Iterator[CalibrationServer]:
    """The calibration server on its own loop in a thread, keeping every request body it received."""
    loop = asyncio.new_event_loop()
    server = CalibrationServer(record=True, **kw)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def indexes_received(server: CalibrationServer) -> Counter[int]:
    return Counter(int(json.loads(body)["messages"][0]["content"].split()[1]) for body in server.received)


def send_offsets_ms(completions: list[Completion]) -> list[float]:
    first = min(c.start_ns for c in completions)
    return [(c.start_ns - first) / 1e6 for c in completions]


def jitter_ms(completions: list[Completion], schedule: list[float]) -> list[float]:
    """Each request's send time against its scheduled offset, less the run's common shift (ms)."""
    late = [actual - planned * 1e3 for actual, planned in zip(send_offsets_ms(completions), schedule, strict=True)]
    shift = median(late) or 0.0
    return [x - shift for x in late]


async def both(url: str) -> tuple[list[Completion], list[Completion], list[int], float]:
    """The same seeded schedule, in process and over two workers; also the workers' clock readings."""
    target = OpenAITarget(url)
    await target.start()
    try:
        await send(target, numbered(-1))  # connection set-up
        one = await run_rate(target, numbered, n_requests=N, rate=RATE, seed=SEED)
    finally:
        await target.stop()
    recipe = recipe_for(target)
    assert recipe is not None
    async with ClientProcesses(recipe, 2) as pool:
        before = time.perf_counter_ns()
        clocks = await pool.clocks()
        after = time.perf_counter_ns()
        assert all(before <= c <= after for c in clocks), "a worker's clock is not the parent's"
        await pool.run_load(lambda i: numbered(-1), n_requests=2, concurrency=2)  # connection set-up
        two = await pool.run_rate(numbered, n_requests=N, rate=RATE, seed=SEED)
        assert two.send_lag_ms_p99 is not None
    return one.completions, two.completions, clocks, (two.realized_rate or 0.0)


def test_the_clock_is_system_wide_here() -> None:
    info = time.get_clock_info("perf_counter")
    assert info.monotonic and not info.adjustable
    if hasattr(time, "CLOCK_MONOTONIC"):  # Linux: stamps from different processes compare directly
        assert "CLOCK_MONOTONIC" in info.implementation


def test_one_and_two_processes_send_the_same_requests_at_the_same_offsets() -> None:
    with recording_server() as server:
        one, two, clocks, realized = asyncio.run(both(server.url))
        received = indexes_received(server)
    assert len(clocks) == 2
    expected = Counter({i: 2 for i in range(N)})  # once by each client; -1 is the connection set-up
    assert received.pop(-1) == 3
    assert received == expected, "some index was lost or sent twice"
    assert len(one) == len(two) == N and all(c.ok for c in one + two)
    schedule = arrival_offsets(N, RATE, seed=SEED)
    assert realized == pytest.approx((N - 1) / schedule[-1])
    # today's one process is the yardstick for what this (shared, 2-core) machine allows right now
    today = median([abs(x) for x in jitter_ms(one, schedule)]) or 0.0

    def pace_error(completions: list[Completion]) -> float:
        """How far the pace requests were sent at is from the schedule's: the slope of send times against
        the schedule (a client falling behind bends it), robust to one late request at either end as
        (n - 1) / span would not be."""
        slope = statistics.linear_regression([o * 1e3 for o in schedule], send_offsets_ms(completions)).slope
        return abs(1 / slope - 1)

    overloaded = os.getloadavg()[0] > usable_cores()  # a client given a fraction of a core cannot keep pace
    assert pace_error(one) < 0.005 or overloaded, f"one process sent at {pace_error(one):.2%} off the pace"
    assert pace_error(two) < max(0.005, 1.5 * pace_error(one)), f"two processes: {pace_error(two):.2%} off"
    for completions in (one, two):
        errors = [abs(x) for x in jitter_ms(completions, schedule)]
        assert (median(errors) or 0.0) < max(2.0, 1.5 * today), f"off schedule: {percentile(errors, 90)} ms at p90"
    # request i went to worker i mod 2, yet both clients sent it at its offset: compare them index by index
    pairs = [abs(a - b) for a, b in zip(jitter_ms(one, schedule), jitter_ms(two, schedule), strict=True)]
    assert (median(pairs) or 0.0) < max(2.0, 2 * today)


def test_closed_loop_splits_the_concurrency_and_sends_every_index_once() -> None:
    async def go(url: str) -> Any:
        target = OpenAITarget(url)
        recipe = recipe_for(target)
        assert recipe is not None
        async with ClientProcesses(recipe, 2) as pool:
            return await pool.run_load(lambda i: numbered(i, ttft_ms=5.0), n_requests=45, concurrency=3)

    with recording_server() as server:
        load = asyncio.run(go(server.url))
        received = indexes_received(server)
    assert received == Counter(range(45))
    assert [c.ok for c in load.completions] == [True] * 45 and load.timed_out == 0
    assert max_in_flight(load.completions) <= 3 and load.concurrency == 3
    assert load.wall_s > 0 and load.cpu_s > 0


def test_ttft_error_with_two_processes_is_under_three_ms_at_p50() -> None:
    async def go(url: str) -> tuple[list[float], float]:
        recipe = recipe_for(OpenAITarget(url))
        assert recipe is not None
        async with ClientProcesses(recipe, 2) as pool:
            await pool.run_load(lambda i: numbered(i, 20.0), n_requests=4, concurrency=2)  # connection set-up
            load = await pool.run_load(lambda i: numbered(i, 20.0), n_requests=40, concurrency=2)
        async with aiohttp.ClientSession() as session, session.get(url[:-3] + "/calibration/stats") as response:
            stats = await response.json()
        # as in test_calibration_server: the server's own lateness (a descheduled server) is not client error
        lateness = stats["first_token_lateness_ms"]["p99"] or 0.0
        return [c.ttft_ms - 20.0 for c in load.completions if c.ttft_ms is not None], lateness

    with SpawnedCalibrationServer() as server:
        errors, server_lateness = asyncio.run(go(server.url))
    assert len(errors) == 40
    p50 = percentile(errors, 50)
    assert p50 is not None and 0.0 <= p50 < 3.0 + server_lateness


def test_in_process_targets_have_no_recipe_and_the_flag_is_checked() -> None:
    assert recipe_for(ScriptedTarget(lambda prompt: "x")) is None
    assert parse_client_processes(None) == 1
    assert parse_client_processes("auto") == usable_cores()
    assert parse_client_processes(" 3 ") == 3
    for bad in ("0", "many", "65"):
        with pytest.raises(UsageError, match="--client-processes"):
            parse_client_processes(bad)


def test_the_ceiling_is_measured_with_n_processes() -> None:
    async def go(url: str) -> Any:
        target = OpenAITarget(url)
        return await ceilings_with(target, 2, [1, 4], n_requests=40)

    with SpawnedCalibrationServer() as server:
        ceilings = asyncio.run(go(server.url))
    assert sorted(ceilings) == [1, 4]
    for level, found in ceilings.items():
        assert found.requests_ok == max(40, 4 * level) and found.requests_failed == 0
        assert found.requests_per_s > 0 and found.client_cpu_ms_per_request > 0

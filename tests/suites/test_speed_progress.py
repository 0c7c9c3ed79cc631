"""Live progress of speed runs: what a terminal shows, the one line elsewhere, and its cost per request."""

from __future__ import annotations

import asyncio
import io
import re
import time

from rich.console import Console

from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.speed_progress import SpeedProgress
from mlx_benchmarks.suites.throughput import ThroughputSuite
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.suites.test_throughput import context


def completion(ttft_ms: float, tokens: int = 5, gap_ms: float = 10.0) -> Completion:
    start = 1_000_000_000
    first = start + int(ttft_ms * 1e6)
    times = [first + int(i * gap_ms * 1e6) for i in range(tokens)]
    return Completion(start_ns=start, end_ns=times[-1], first_token_ns=first, token_times_ns=times)


def test_a_terminal_shows_stage_count_running_figures_and_time_left() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with SpeedProgress(console, "throughput", planned=4) as progress:
        progress.stage("tok_per_sec_128")
        for ttft in (100.0, 300.0, 200.0):
            progress.record(completion(ttft))
        progress.record(Completion(start_ns=0, end_ns=1, error="HTTP 500"))
        progress.stage("concurrency_2", more_planned=2)
    drawn = [line for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()).splitlines() if line.strip()]
    last = drawn[-1]
    assert "throughput concurrency_2" in last and "4/6" in last
    assert "TTFT p50 200 ms" in last and "100.0 tok/s" in last and "1 failed" in last, "median of 100/200/300"
    assert "left" in last


def test_elsewhere_only_one_final_line_is_printed() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=140)
    with SpeedProgress(console, "throughput", planned=2) as progress:
        progress.stage("tok_per_sec_8")
        progress.record(completion(50.0))
        progress.record(completion(70.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("throughput: 2 requests in ")
    assert "TTFT p50 60 ms" in lines[0]


def test_recording_is_cheap_enough_for_the_hot_path() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    done = completion(10.0, tokens=64)
    with SpeedProgress(console, "throughput", planned=20000) as progress:
        started = time.perf_counter()
        for _ in range(20000):
            progress.record(done)
        per_call_us = (time.perf_counter() - started) / 20000 * 1e6
    assert per_call_us < 100, f"{per_call_us:.1f} us per request recorded"


def test_a_whole_run_reports_every_request_once() -> None:
    async def go() -> str:
        server = CalibrationServer(ttft_ms=2, itl_ms=1)
        await server.start()
        target = OpenAITarget(server.url)
        await target.start()
        out = io.StringIO()
        ctx = context(target, prompt_lengths="8", gen_tokens="3", trials=2, warmup=1, concurrency="2")
        ctx.console = Console(file=out, force_terminal=False, width=200)
        try:
            await ThroughputSuite().run(ctx)
        finally:
            ctx.memory.stop()
            await target.stop()
            await server.close()
        return out.getvalue()

    lines = asyncio.run(go()).splitlines()
    # one cell of 1 + 2 requests, one level of 2 rounds x 4 requests; the calibration probes are not counted
    assert len(lines) == 1 and lines[0].startswith("throughput: 11 requests in ")

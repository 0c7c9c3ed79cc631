from __future__ import annotations

import asyncio
import threading

import pytest

from mlx_benchmarks.aio import run_coroutine


async def where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


async def boom() -> None:
    raise ValueError("inner failure")


def test_runs_in_this_thread_without_a_running_loop() -> None:
    assert run_coroutine(where()) == threading.current_thread().name


def test_runs_in_a_worker_thread_inside_a_running_loop() -> None:
    async def outer() -> str:
        return run_coroutine(where())

    assert asyncio.run(outer()) == "mlx-bench-loop"


def test_errors_reach_the_caller_in_both_cases() -> None:
    with pytest.raises(ValueError, match="inner failure"):
        run_coroutine(boom())

    async def outer() -> None:
        run_coroutine(boom())

    with pytest.raises(ValueError, match="inner failure"):
        asyncio.run(outer())

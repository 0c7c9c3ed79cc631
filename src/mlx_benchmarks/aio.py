"""Run a coroutine to completion from synchronous code, on uvloop where it is installed.

uvloop drives our streaming client measurably faster (see ../shared/perf). When the calling thread
already runs an event loop (a notebook, or a library such as Playwright's sync API), the coroutine
runs on a fresh loop in a worker thread instead of failing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _run_here(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that also works when this thread already has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(coro)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = _run_here(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="mlx-bench-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value

"""The generation thread's exit path (``targets.mlx_thread``): a call in flight is asked to stop through its
cancel event, queued and later calls are cancelled, and quiesce returns once the thread is idle."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest

from mlx_benchmarks.targets.mlx_thread import GenerationThread


def test_quiesce_stops_the_call_in_flight_and_cancels_the_queue() -> None:
    worker = GenerationThread()
    started, cancel = threading.Event(), threading.Event()

    def generate() -> str:  # a long generation that checks its cancel event between tokens
        started.set()
        for _ in range(3000):
            if cancel.is_set():
                return "stopped"
            time.sleep(0.01)
        return "ran to the end"

    running = worker.submit(generate, cancel=cancel)
    queued = worker.submit(lambda: "should not run")
    assert started.wait(10) and not worker.idle
    began = time.monotonic()
    assert worker.quiesce(timeout=20)
    assert time.monotonic() - began < 5 and worker.idle
    assert running.result(timeout=1) == "stopped"
    with pytest.raises(CancelledError):
        queued.result(timeout=1)
    with pytest.raises(CancelledError):
        worker.submit(lambda: "after exit").result(timeout=1)


def test_quiesce_of_an_idle_thread_returns_at_once() -> None:
    worker = GenerationThread()
    assert worker.submit(lambda: 2 + 2).result(timeout=5) == 4
    began = time.monotonic()
    assert worker.quiesce(timeout=5) and time.monotonic() - began < 1

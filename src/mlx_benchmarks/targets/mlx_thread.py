"""The one thread of the process that does MLX work, and how it is quiesced before the interpreter exits.

A Ctrl-C stops the event loop while this (daemon) thread may still be inside MLX: the interpreter then
finalizes and MLX's C++ state is torn down under a running evaluation, which aborted the process now and
then (exit 134, "terminate called without an active exception"). So at exit (``atexit``, which runs while
daemon threads still run) the call in flight is asked to stop through its cancel event, queued calls are
cancelled, and exit waits until the thread is idle again. The thread itself stays (idle, blocked on its
queue): a thread that ran MLX work and *exits* before the process does was measured to abort it too.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

# an evaluation in flight cannot be interrupted (a long prompt's prefill on a CPU takes tens of seconds);
# past this, exit goes ahead rather than hang
QUIESCE_TIMEOUT_S = 120.0

Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], threading.Event | None]


class GenerationThread:
    """A daemon thread that runs submitted calls one at a time, for the life of the process."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[Job] = SimpleQueue()
        self._guard = threading.Lock()
        self._pending = 0  # submitted calls not yet finished
        self._idle = threading.Event()
        self._idle.set()
        self._closing = False
        self._cancels: set[threading.Event] = set()
        threading.Thread(target=self._loop, name="mlx-generate", daemon=True).start()
        atexit.register(self.quiesce)

    def _loop(self) -> None:
        while True:
            future, function, args, cancel = self._jobs.get()
            try:
                if self._closing:
                    future.cancel()
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(function(*args))
                    except BaseException as exc:
                        future.set_exception(exc)
            finally:
                self._finished(cancel)

    def _finished(self, cancel: threading.Event | None) -> None:
        with self._guard:
            self._pending -= 1
            if cancel is not None:
                self._cancels.discard(cancel)
            if self._pending == 0:
                self._idle.set()

    def submit(self, function: Callable[..., Any], *args: Any, cancel: threading.Event | None = None) -> Future[Any]:
        """Queue ``function(*args)``; ``cancel`` is set when the process exits, to stop a long call early."""
        future: Future[Any] = Future()
        with self._guard:
            if self._closing:
                future.cancel()
                return future
            self._pending += 1
            self._idle.clear()
            if cancel is not None:
                self._cancels.add(cancel)
        self._jobs.put((future, function, args, cancel))
        return future

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    def quiesce(self, timeout: float = QUIESCE_TIMEOUT_S) -> bool:
        """Stop taking calls, ask the one in flight to stop, wait until the thread is idle (True) or timed out."""
        with self._guard:
            self._closing = True
            for cancel in self._cancels:
                cancel.set()
        # a second Ctrl-C must not cut this wait short: that would bring back the abort it prevents
        previous = None
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError, OSError):
                previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return self._idle.wait(timeout)
        finally:
            if previous is not None:
                with contextlib.suppress(ValueError, OSError):
                    signal.signal(signal.SIGINT, previous)

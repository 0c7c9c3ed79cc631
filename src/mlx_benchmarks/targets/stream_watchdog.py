"""One lazy timer per streamed request: its total deadline and the idle limit between reads.

Re-arming a timer at every read (an ``asyncio.Timeout.reschedule`` cancels one timer handle and schedules
another) cost about 0.3 ms of CPU per 32-token request, a third more than the raw aiohttp client. Here a read
only records its time; the one timer wakes at the earliest moment a limit could have passed and checks.
When a limit has really passed, it cancels the request's task, but only while the request is waiting on the
server: while the consumer holds a chunk, the task is running the consumer's code, which our cancellation
must never hit. A deadline that passes then is enforced when the consumer comes back for the next chunk.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from mlx_benchmarks.targets.base import now_ns

Expiry = Literal["total", "idle"]


class StreamWatchdog:
    """Cancels the request's task when its total time or, after the first event, a silence runs out."""

    def __init__(self, total_s: float, idle_s: float | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        start = now_ns()
        self.deadline_ns = start + int(total_s * 1e9)
        self.idle_ns = int(idle_s * 1e9) if idle_s else None
        self.last_ns = start  # the last read, or when waiting on the server began again
        self.first_seen = False  # the idle limit applies only once an event has arrived
        self.waiting = True  # awaiting the server (cancellable), not handing a chunk to the consumer
        self.expired: Expiry | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._handle_due_ns = self.deadline_ns
        self._schedule(start)

    def _due_ns(self) -> int:
        if self.first_seen and self.idle_ns is not None:
            return min(self.deadline_ns, self.last_ns + self.idle_ns)
        return self.deadline_ns

    def _schedule(self, now: int) -> None:
        self._handle_due_ns = self._due_ns()
        self._handle = self._loop.call_later(max(0.0, (self._handle_due_ns - now) / 1e9), self._check)

    def _check(self) -> None:
        self._handle = None
        if not self.waiting:
            return  # the consumer holds a chunk: ``resume`` looks again
        now = now_ns()
        if now >= self.deadline_ns:
            self.expired = "total"
        elif self.first_seen and self.idle_ns is not None and now >= self.last_ns + self.idle_ns:
            self.expired = "idle"
        if self.expired is not None and self._task is not None:
            self._task.cancel()
        else:
            self._schedule(now)

    def read(self, t_ns: int) -> None:
        """Data arrived at ``t_ns``; the consumer is about to be handed chunks."""
        self.last_ns = t_ns
        self.first_seen = True
        self.waiting = False

    def resume(self) -> None:
        """The consumer asked for more: wait on the server again (TimeoutError if the deadline has passed)."""
        now = now_ns()
        if now >= self.deadline_ns:
            self.expired = "total"
            raise TimeoutError
        self.last_ns = now
        self.waiting = True
        # later reads only push the idle moment back, so an armed timer wakes early and looks again; only a
        # timer armed for a later moment (the deadline, before the first event) is re-armed here
        if self._handle is None or self._handle_due_ns > self._due_ns():
            if self._handle is not None:
                self._handle.cancel()
            self._schedule(now)

    def fired(self) -> bool:
        """Whether a cancellation of the task came from this watchdog (then the caller uncancels it)."""
        return self.expired is not None

    def stop(self) -> None:
        self.waiting = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

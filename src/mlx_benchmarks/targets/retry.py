"""Retries where they are honest: a quality or tool sample asks again after a transient failure.

Only ``TargetRetryable`` is retried (429 / 503, a connection reset mid-answer, a stream gone idle), with capped
exponential backoff and full jitter, or after the server's ``Retry-After`` (capped too). Speed suites never
call this: a timed request that failed is an error of its cell, not something to paper over.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from mlx_benchmarks.errors import TargetRetryable

T = TypeVar("T")

DEFAULT_MAX_RETRIES = 3
MAX_RETRIES_LIMIT = 20
BACKOFF_BASE_S = 1.0  # first retry waits up to this (full jitter), doubling to RetryPolicy.cap_s


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date; None when absent or garbled."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text[:9]))  # nine digits is three decades; more is not a real delay
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: ``base_s * 2**attempt`` with full jitter, at most ``cap_s``;
    a server's ``Retry-After`` is honoured up to ``retry_after_cap_s``."""

    max_retries: int = DEFAULT_MAX_RETRIES
    base_s: float = 1.0
    cap_s: float = 30.0
    retry_after_cap_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap_s)
        return rand() * min(self.cap_s, self.base_s * 2.0 ** min(attempt, 30))


@dataclass
class Retrying:
    """Run requests through a policy; ``count`` totals the retries of every call (one sample, one agent run)."""

    policy: RetryPolicy
    count: int = 0
    last_reason: str | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``await attempt()`` until it succeeds, fails in a way not worth retrying, or this call's retries run
        out (then the last ``TargetRetryable`` propagates)."""
        retried = 0
        while True:
            try:
                return await attempt()
            except TargetRetryable as exc:
                if retried >= self.policy.max_retries:
                    raise
                self.last_reason = str(exc)
                await self.sleep(self.policy.delay(retried, exc.retry_after))
                retried += 1
                self.count += 1


def retrying(max_retries: int | None = None) -> Retrying:
    """A fresh counter for one sample; ``max_retries`` as given by ``--max-retries`` (None: the default)."""
    chosen = DEFAULT_MAX_RETRIES if max_retries is None else max(0, int(max_retries))
    return Retrying(RetryPolicy(max_retries=min(chosen, MAX_RETRIES_LIMIT), base_s=BACKOFF_BASE_S))

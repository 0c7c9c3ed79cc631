"""Retry policy: what is retried, how long it waits (Retry-After, capped backoff with jitter), how it counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from mlx_benchmarks.errors import TargetProtocolError, TargetRetryable
from mlx_benchmarks.targets.retry import Retrying, RetryPolicy, parse_retry_after, retrying

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_date_and_garbage() -> None:
    assert parse_retry_after("7") == 7 and parse_retry_after(" 0 ") == 0
    assert parse_retry_after("Mon, 30 Nov 2026 12:00:30 GMT", now=NOW) == 30
    assert parse_retry_after("Mon, 30 Nov 2026 11:00:00 GMT", now=NOW) == 0, "a past date means now"
    assert parse_retry_after("9" * 400) == 999_999_999, "absurd digit runs are cut, never an exception"
    for garbage in (None, "", "soon", "-5", "1.5", "Mon, 99 Nov 2026 12:00:00 GMT"):
        assert parse_retry_after(garbage) is None


def test_backoff_is_capped_jittered_and_retry_after_is_capped() -> None:
    policy = RetryPolicy(max_retries=3, base_s=1.0, cap_s=30.0, retry_after_cap_s=60.0)
    assert [policy.delay(n, None, rand=lambda: 1.0) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(2, None, rand=lambda: 0.25) == 1.0, "full jitter: a random share of the cap"
    assert policy.delay(500, None, rand=lambda: 1.0) == 30, "no overflow for huge attempt numbers"
    assert policy.delay(0, 5.0) == 5.0 and policy.delay(0, 3600.0) == 60.0


def run_with(failures: list[BaseException], max_retries: int) -> tuple[Retrying, list[float], int]:
    waits: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    retry = Retrying(RetryPolicy(max_retries=max_retries), sleep=sleep)
    assert asyncio.run(retry(attempt)) == "ok"
    return retry, waits, calls


def test_retryable_failures_are_retried_and_counted() -> None:
    retry, waits, calls = run_with([TargetRetryable("HTTP 429", retry_after=2.0), TargetRetryable("reset")], 3)
    assert retry.count == 2 and calls == 3 and waits[0] == 2.0 and 0 <= waits[1] <= 2.0
    assert retry.last_reason == "reset"


def test_retries_run_out_and_the_last_failure_propagates() -> None:
    async def sleep(seconds: float) -> None:
        return None

    async def always_busy() -> str:
        raise TargetRetryable("HTTP 503", retry_after=0)

    retry = Retrying(RetryPolicy(max_retries=2), sleep=sleep)
    with pytest.raises(TargetRetryable, match="503"):
        asyncio.run(retry(always_busy))
    assert retry.count == 2
    with pytest.raises(TargetRetryable):  # the budget is per call; the count keeps adding up
        asyncio.run(retry(always_busy))
    assert retry.count == 4


def test_other_failures_are_not_retried() -> None:
    async def broken() -> str:
        raise TargetProtocolError("HTTP 500")

    retry = retrying(5)
    with pytest.raises(TargetProtocolError):
        asyncio.run(retry(broken))
    assert retry.count == 0


def test_max_retries_option_default_floor_and_ceiling() -> None:
    assert retrying(None).policy.max_retries == 3
    assert retrying(-4).policy.max_retries == 0
    assert retrying(10_000).policy.max_retries == 20

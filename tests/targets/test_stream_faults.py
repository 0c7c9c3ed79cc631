"""OpenAITarget against the fault server: every fault fails one request with a reason, bounded in time and memory."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from mlx_benchmarks.errors import TargetProtocolError, TargetRetryable, TargetTimeout, TargetUnavailable
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.fault_server import Cut, Die, Empty, Fault, FaultServer, Garbage, Ok, Stall, Status, always

HELLO = ChatRequest(messages=[{"role": "user", "content": "hello"}], max_tokens=8)
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def ask(fault: Fault, **options: Any) -> Completion:
    """One request to a server that answers with ``fault``; exceptions propagate."""
    async with FaultServer(always(fault)) as server:
        target = OpenAITarget(server.url, **options)
        await target.start()
        try:
            return await collect(target.stream(HELLO))
        finally:
            await target.stop()


def test_stall_after_two_tokens_ends_at_the_idle_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(TargetRetryable, match="idle timeout"):
        run(ask(Stall(after_tokens=2, seconds=30), idle_timeout_s=0.5, timeout_s=20))
    assert time.monotonic() - started < 3


def test_no_request_outlives_its_timeout_even_without_an_idle_limit() -> None:
    started = time.monotonic()
    with pytest.raises(TargetTimeout, match="within 1 s"):
        run(ask(Stall(after_tokens=2, seconds=30), idle_timeout_s=None, timeout_s=1))
    assert time.monotonic() - started < 3, "one request timeout, not two"


def test_idle_timeout_longer_than_the_request_timeout_is_a_plain_timeout() -> None:
    with pytest.raises(TargetTimeout):
        run(ask(Stall(after_tokens=1, seconds=30), idle_timeout_s=50, timeout_s=1))


def test_429_and_503_are_retryable_with_the_servers_retry_after() -> None:
    with pytest.raises(TargetRetryable) as seconds:
        run(ask(Status(429, "slow down", retry_after="7")))
    assert seconds.value.retry_after == 7 and "HTTP 429: " in str(seconds.value)
    with pytest.raises(TargetRetryable) as date:
        run(ask(Status(503, "busy", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")))
    assert date.value.retry_after == 0, "a date in the past means now"
    with pytest.raises(TargetRetryable) as none:
        run(ask(Status(503, "busy")))
    assert none.value.retry_after is None


def test_500_and_an_unknown_model_are_not_retryable() -> None:
    with pytest.raises(TargetProtocolError, match=r"HTTP 500: .*injected"):
        run(ask(Status(500)))
    with pytest.raises(TargetProtocolError, match=r"HTTP 404: .*no such model"):
        run(ask(Status(404, "no such model")))


def test_cut_stream_is_retryable_and_empty_200_is_a_protocol_error() -> None:
    with pytest.raises(TargetRetryable, match=r"closed the stream mid-answer|before the answer finished"):
        run(ask(Cut(after_tokens=2)))
    with pytest.raises(TargetProtocolError, match="before the answer finished"):
        run(ask(Empty()))


@pytest.mark.parametrize("body", [
    b"data: {not json\n\n",
    b'data: {"choices": {"delta": 1}}\n\n',
    b'data: {"choices": [{"delta": {"tool_calls": 5}}]}\n\n',
    b'data: {"choices": [{"delta": {"tool_calls": [{"index": 100000000}]}}]}\n\n',
    b'data: {"choices": [{"delta": {"tool_calls": [{"index": "0"}]}}]}\n\n',
    b'data: {"choices": [{"delta": {"content": 7}}]}\n\n',
    b'data: {"choices": [], "usage": {"prompt_tokens": -1}}\n\n',
    b'data: {"choices": [], "usage": {"completion_tokens": NaN}}\n\n',
    b'data: ' + b"[" * 100_000 + b"\n\n",
    b"data: \xff\xfe\n\n",
])
def test_garbage_fails_the_request_with_a_reason_never_raises(body: bytes) -> None:
    completion = run(ask(Garbage(body)))
    assert completion.error is not None and ("malformed" in completion.error or "unexpected" in completion.error)
    assert completion.tool_calls == []


def test_a_huge_line_is_refused_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TargetProtocolError, match="longer than"):
            run(ask(Garbage(b"data: " + b"x" * (12 << 20))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 << 20


def test_server_dying_fails_this_request_then_the_target_is_unreachable() -> None:
    async def go() -> None:
        async with FaultServer(always(Die())) as server:
            target = OpenAITarget(server.url)
            await target.start()
            with pytest.raises(TargetRetryable):
                await collect(target.stream(HELLO))
            with pytest.raises(TargetUnavailable):
                await collect(target.stream(HELLO))
            await target.stop()

    run(go())


def test_a_healthy_answer_still_streams() -> None:
    completion = run(ask(Ok(tokens=3, text=" a")))
    assert completion.ok and completion.text == " a a a" and completion.usage is not None


def test_more_than_128_unindexed_tool_calls_fail_the_request() -> None:
    event = b'data: {"choices": [{"delta": {"tool_calls": [{"function": {"name": "f"}}]}}]}\n\n'
    completion = run(ask(Garbage(event * 200)))
    assert completion.error == "more than 128 tool calls in one answer" and len(completion.tool_calls) == 128


def test_an_answer_over_the_stream_limit_fails_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlx_benchmarks.targets import openai_http

    monkeypatch.setattr(openai_http, "MAX_STREAM_BYTES", 1 << 20)
    event = b'data: {"choices": [{"delta": {"content": "' + b"x" * 1000 + b'"}}]}\n\n'
    with pytest.raises(TargetProtocolError, match="more than 1 MiB"):
        run(ask(Garbage(event * 2000)))

"""Fuzzing the SSE layer: whatever bytes a server sends, the decoder and the event parser return bounded output
and fail only the documented way (``TargetProtocolError`` from the decoder, an ``error`` chunk from the parser)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlx_benchmarks.errors import TargetProtocolError
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import Chunk
from mlx_benchmarks.targets.sse import MAX_COUNT, MAX_TOOL_CALLS, SSEDecoder, chunks_from_event
from tests.fuzz.conftest import MEMORY_EXAMPLES
from tests.fuzz.strategies import NUMBERS, SCALARS, TEXT, dumps, json_values, shaped

ANY = st.one_of(SCALARS, json_values())
INDEX = st.one_of(st.integers(min_value=-5, max_value=200), st.just(100_000_000), NUMBERS, TEXT)
FUNCTION = st.one_of(ANY, shaped({"name": st.one_of(TEXT, ANY), "arguments": st.one_of(TEXT, ANY)}))
CALL = st.one_of(ANY, shaped({"index": INDEX, "id": st.one_of(TEXT, ANY), "type": TEXT, "function": FUNCTION}))
DELTA = st.one_of(ANY, shaped({
    "content": st.one_of(TEXT, ANY), "reasoning_content": st.one_of(TEXT, ANY), "reasoning": TEXT,
    "role": TEXT, "tool_calls": st.one_of(st.lists(CALL, max_size=5), ANY)}))
CHOICE = st.one_of(ANY, shaped({"delta": DELTA, "text": st.one_of(TEXT, ANY), "finish_reason": st.one_of(TEXT, ANY)}))
COUNTS = shaped({"prompt_tokens": NUMBERS, "completion_tokens": NUMBERS,
                 "prompt_tokens_details": st.one_of(ANY, shaped({"cached_tokens": NUMBERS}))})
TIMINGS = shaped({"prompt_n": NUMBERS, "predicted_n": NUMBERS, "cache_n": NUMBERS, "prompt_per_second": NUMBERS,
                  "predicted_per_second": NUMBERS})
EVENT = st.one_of(ANY, shaped({"choices": st.one_of(st.lists(CHOICE, max_size=3), ANY), "usage": st.one_of(COUNTS, ANY),
                               "timings": st.one_of(TIMINGS, ANY), "error": ANY}))
PAYLOAD = st.one_of(EVENT.map(dumps), st.binary(max_size=300), st.just(b"[" * 50_000))


def _drain(chunks: list[Chunk]) -> Completion:
    """``collect`` over ready chunks, driven without an event loop (the generator never awaits)."""
    async def stream() -> AsyncIterator[Chunk]:
        for chunk in chunks:
            yield chunk

    coro = collect(stream(), 0)
    try:
        coro.send(None)
    except StopIteration as done:
        result: Completion = done.value
        return result
    raise AssertionError("collect awaited something")


def _check(chunk: Chunk) -> None:
    assert isinstance(chunk.text, str) and (chunk.finish_reason is None or isinstance(chunk.finish_reason, str))
    if chunk.tool_call is not None:
        index = chunk.tool_call.get("index", 0)
        assert isinstance(index, int) and 0 <= index < MAX_TOOL_CALLS
        function = chunk.tool_call.get("function", {})
        assert all(isinstance(v, str) for v in function.values())
    if chunk.usage is not None:
        for count in (chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.cached_prompt_tokens):
            assert count is None or (type(count) is int and 0 <= count <= MAX_COUNT)


@pytest.fixture(scope="module")
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


def parse_and_collect(payload: bytes) -> Completion:
    chunks = chunks_from_event(payload, 1)
    assert 1 <= len(chunks) <= MAX_TOOL_CALLS + 3
    assert all(c.kind != "error" for c in chunks) or len(chunks) == 1
    for chunk in chunks:
        _check(chunk)
    completion = _drain(chunks)
    assert len(completion.tool_calls) <= MAX_TOOL_CALLS
    return completion


@given(PAYLOAD)
def test_event_parser_never_raises_and_output_is_checked_and_bounded(payload: bytes) -> None:
    parse_and_collect(payload)


@settings(max_examples=MEMORY_EXAMPLES)
@given(PAYLOAD)
def test_event_parser_memory_is_in_proportion_to_the_input(traced: None, payload: bytes) -> None:
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    parse_and_collect(payload)
    _, peak = tracemalloc.get_traced_memory()
    assert peak - before < 8 * len(payload) + (1 << 20)


@given(st.lists(st.one_of(st.binary(max_size=64), st.sampled_from([b"\r", b"\n", b"\r\n", b"data:", b"data: ",
                                                                       b": ping\n", b"[DONE]", b"\n\n"])),
                max_size=20))
def test_decoder_returns_at_most_what_it_was_fed(pieces: list[bytes]) -> None:
    decoder = SSEDecoder()
    events: list[bytes] = []
    try:
        for piece in pieces:
            events += decoder.feed(piece)
        events += decoder.flush()
    except TargetProtocolError:  # the one documented failure: a line or event over its bound
        return
    assert sum(len(e) for e in events) <= sum(len(p) for p in pieces)
    assert all(b"\r" not in e for e in events)


@pytest.mark.parametrize("piece", [b"x" * (1 << 20), b"data: " + b"y" * (1 << 20) + b"\n"])
def test_decoder_refuses_an_endless_line_or_event_in_bounded_memory(traced: None, piece: bytes) -> None:
    decoder = SSEDecoder()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()  # what earlier tests left alive is not ours
    with pytest.raises(TargetProtocolError, match="longer than"):
        for _ in range(64):
            decoder.feed(piece)
    _, peak = tracemalloc.get_traced_memory()
    assert peak - before < 40 << 20


def test_the_reported_crashes_are_error_chunks() -> None:
    """The issue's findings: a huge tool-call index, a non-list tool_calls, a non-integer index."""
    for delta in ({"tool_calls": [{"index": 100_000_000}]}, {"tool_calls": {"index": 0}},
                  {"tool_calls": [{"index": "0"}]}, {"tool_calls": [{"index": 1.5}]}):
        (chunk,) = chunks_from_event(dumps({"choices": [{"delta": delta}]}), 1)
        assert chunk.kind == "error" and "malformed event" in chunk.text


def test_a_well_formed_event_still_parses() -> None:
    event: dict[str, Any] = {"choices": [{"delta": {"content": "hi", "tool_calls": [
        {"index": 1, "id": "c", "function": {"name": "f", "arguments": {"a": 1}}}]}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2.0}}
    chunks = chunks_from_event(dumps(event), 5)
    assert [c.kind for c in chunks] == ["content", "tool_call", "usage"] and chunks[-1].finish_reason == "stop"
    assert chunks[1].tool_call == {"index": 1, "id": "c", "function": {"name": "f", "arguments": '{"a": 1}'}}
    assert chunks[2].usage is not None and chunks[2].usage.completion_tokens == 2

"""OpenAITarget and its SSE parsing, against the scripted OpenAI-compatible test double on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from mlx_benchmarks.errors import TargetProtocolError, TargetUnavailable
from mlx_benchmarks.measure.load import send
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget, split_base_url
from mlx_benchmarks.targets.sse import SSEDecoder, chunks_from_event
from tests.doubles.scripted_openai_server import (
    MODEL,
    Answer,
    DieMidStream,
    HTTPFail,
    RawSSE,
    ScriptedOpenAIServer,
    Step,
)

T = TypeVar("T")
HELLO = ChatRequest(messages=[{"role": "user", "content": "one two three"}], max_tokens=8)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def ask(steps: list[Step], request: ChatRequest = HELLO, **target_kw: Any) -> tuple[Completion,
                                                                                         ScriptedOpenAIServer]:
    async with ScriptedOpenAIServer(script=steps) as server:
        target = OpenAITarget(server.url, **target_kw)
        await target.start()
        try:
            completion = await send(target, request)
        finally:
            await target.stop()
    return completion, server


# --- SSE decoding -------------------------------------------------------------------------------------------

def test_decoder_joins_lines_split_across_reads_byte_by_byte() -> None:
    stream = b'data: {"a": 1}\r\n\r\n: keep-alive comment\n\ndata: {"b":\ndata: 2}\n\nevent: x\ndata: [DONE]\n\n'
    decoder = SSEDecoder()
    events = [event for i in range(len(stream)) for event in decoder.feed(stream[i:i + 1])]
    assert events == [b'{"a": 1}', b'{"b":\n2}', b"[DONE]"]


def test_decoder_flushes_an_event_without_closing_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"x": 1}') == []
    assert decoder.flush() == [b'{"x": 1}']


def test_role_only_and_empty_chunks_are_not_tokens() -> None:
    for payload in (b'{"choices":[{"delta":{"role":"assistant"}}]}',
                    b'{"choices":[{"delta":{"role":"assistant","content":""}}]}', b'{"choices":[]}'):
        assert [c.kind for c in chunks_from_event(payload, 7)] == ["role"]


def test_event_kinds_reasoning_tool_calls_usage_and_llamacpp_timings() -> None:
    (reasoning,) = chunks_from_event(b'{"choices":[{"delta":{"reasoning_content":"hm"}}]}', 1)
    (reasoning2,) = chunks_from_event(b'{"choices":[{"delta":{"reasoning":"so"}}]}', 1)
    assert (reasoning.kind, reasoning.text, reasoning2.text) == ("reasoning", "hm", "so")
    call = {"index": 0, "id": "c1", "function": {"name": "add", "arguments": "{\"a\""}}
    (tool,) = chunks_from_event(b'{"choices":[{"delta":{"tool_calls":[%s]}}]}' % json.dumps(call).encode(), 2)
    assert tool.kind == "tool_call" and tool.tool_call == call
    chunks = chunks_from_event(b'{"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}],'
                               b'"usage":{"prompt_tokens":5,"completion_tokens":9},'
                               b'"timings":{"prompt_per_second":812.5,"predicted_per_second":41.0}}', 3)
    assert [c.kind for c in chunks] == ["content", "usage"] and chunks[-1].finish_reason == "stop"
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (5, 9)
    assert (usage.server_prompt_tps, usage.server_generation_tps) == (812.5, 41.0)
    assert usage.cached_prompt_tokens is None, "nothing said of a cache"
    # mlx_lm.server and vLLM: OpenAI's prompt_tokens_details; llama.cpp: timings.cache_n
    (openai_style,) = chunks_from_event(b'{"choices":[],"usage":{"prompt_tokens":33,"completion_tokens":5,'
                                        b'"prompt_tokens_details":{"cached_tokens":24}}}', 4)
    (llamacpp_style,) = chunks_from_event(b'{"choices":[],"timings":{"prompt_n":9,"cache_n":24,'
                                          b'"predicted_n":5}}', 5)
    assert openai_style.usage is not None and openai_style.usage.cached_prompt_tokens == 24
    assert llamacpp_style.usage is not None and llamacpp_style.usage.cached_prompt_tokens == 24


def test_malformed_json_and_error_events_become_error_chunks() -> None:
    (bad,) = chunks_from_event(b'{"choices": [', 1)
    assert bad.kind == "error" and "malformed JSON" in bad.text
    (err,) = chunks_from_event(b'{"error": {"message": "out of memory"}}', 1)
    assert err.kind == "error" and "out of memory" in err.text


def test_base_url_forms_and_credentials_dropped() -> None:
    assert split_base_url("http://127.0.0.1:8080") == ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080")
    assert split_base_url("http://u:secret@127.0.0.1:8080/v1/chat/completions")[0] == "http://127.0.0.1:8080/v1"


# --- the target against the scripted server ----------------------------------------------------------------

def test_role_chunk_first_does_not_start_ttft() -> None:
    # role chunk at once, then each event 30 ms apart: the first token arrives >= 30 ms after the role chunk
    completion, _server = run(ask([Answer(content=3, delay_s=0.03)]))
    assert completion.ok and completion.text == " tok tok tok"
    assert completion.first_byte_ns is not None and completion.first_token_ns is not None
    assert (completion.first_token_ns - completion.first_byte_ns) / 1e6 >= 25
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert completion.usage.prompt_tokens == 3


def test_request_body_asks_for_usage_and_ignore_eos_and_sends_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    request = ChatRequest(messages=HELLO.messages, max_tokens=5, ignore_eos=True, seed=3)
    _completion, server = run(ask([Answer()], request, api_key="sk-test-123"))
    body = server.requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["ignore_eos"] is True and body["max_tokens"] == 5 and body["seed"] == 3
    assert body["model"] == MODEL, "discovered from /v1/models"
    assert server.headers[0]["Authorization"] == "Bearer sk-test-123"


def test_api_key_is_not_in_target_info() -> None:
    target = OpenAITarget("http://127.0.0.1:9/v1", api_key="sk-secret-xyz")
    assert "sk-secret-xyz" not in repr(target.info)


def test_reasoning_and_tool_call_deltas_are_tokens_with_their_own_first_times() -> None:
    calls = [{"index": 0, "id": "c1", "function": {"name": "add", "arguments": "{\"a\": 1"}},
             {"index": 0, "function": {"arguments": "}"}}]
    completion, _ = run(ask([Answer(content=["ok"], reasoning=["think", "more"], tool_calls=calls, delay_s=0.005)]))
    assert completion.reasoning == "thinkmore" and completion.text == "ok"
    assert completion.tool_calls == [{"id": "c1", "name": "add", "arguments": "{\"a\": 1}"}]
    assert completion.first_token_ns == completion.first_reasoning_ns
    assert completion.first_reasoning_ns < completion.first_content_ns < completion.first_tool_call_ns  # type: ignore[operator]
    assert completion.streamed_events == 5


def test_lines_split_across_network_reads() -> None:
    pieces = [b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n', b'\ndata: {"choices":[{"del',
              b'ta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}\r',
              b"\n\r\ndata: [DONE]\n\n"]
    completion, _ = run(ask([RawSSE(pieces)]))
    assert completion.ok and completion.text == "Hello" and completion.finish_reason == "stop"
    assert completion.streamed_events == 2


def test_malformed_line_is_a_request_error() -> None:
    completion, _ = run(ask([RawSSE([b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n', b"data: {oops\n\n"])]))
    assert completion.error is not None and "malformed JSON" in completion.error


def test_http_error_is_one_summarised_line() -> None:
    async def go() -> None:
        async with ScriptedOpenAIServer(script=[HTTPFail(500, "x" * 5000 + "\n\n trailing")]) as server:
            target = OpenAITarget(server.url)
            await target.start()
            with pytest.raises(TargetProtocolError) as info:
                await collect(target.stream(HELLO))
            await target.stop()
        message = str(info.value)
        assert message.startswith("HTTP 500: xxx") and "\n" not in message and len(message) < 230

    run(go())


def test_server_dying_mid_stream_is_a_per_request_error() -> None:
    async def go() -> tuple[Completion, Completion]:
        async with ScriptedOpenAIServer(script=[DieMidStream(after_tokens=2), Answer(content=2)]) as server:
            target = OpenAITarget(server.url)
            await target.start()
            first = await send(target, HELLO)
            second = await send(target, HELLO)
            await target.stop()
        return first, second

    first, second = run(go())
    assert first.error is not None
    assert "mid-answer" in first.error or "before the answer finished" in first.error
    assert second.ok and second.text == " tok tok", "the next request works"


def test_stream_without_done_but_finished_is_fine_and_unfinished_is_an_error() -> None:
    finished, _ = run(ask([Answer(content=2, done=False)]))
    assert finished.ok and finished.text == " tok tok"
    cut = RawSSE([b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'])
    unfinished, _ = run(ask([cut]))
    assert unfinished.error is not None and "closed the stream mid-answer" in unfinished.error
    assert "[DONE] or a finish_reason" in unfinished.error, "a cut stream (retried), whatever its framing"


def test_unreachable_target_fails_fast_naming_host_and_port() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = OpenAITarget(f"http://127.0.0.1:{port}/v1")
    started = time.monotonic()
    with pytest.raises(TargetUnavailable) as info:
        run(target.start())
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port}" in str(info.value)


def test_model_name_given_is_used_and_no_model_list_is_an_error() -> None:
    async def chosen() -> ScriptedOpenAIServer:
        async with ScriptedOpenAIServer(models=("scripted-model", "chosen")) as server:
            target = OpenAITarget(server.url, model="chosen")
            await target.start()
            await send(target, HELLO)
            await target.stop()
        return server

    assert run(chosen()).requests[0]["model"] == "chosen"

    async def empty() -> None:
        async with ScriptedOpenAIServer(models=()) as server:
            with pytest.raises(TargetProtocolError, match="--model"):
                await OpenAITarget(server.url).start()

    run(empty())

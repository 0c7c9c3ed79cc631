"""TEST DOUBLE: a scripted OpenAI-compatible server on loopback, for tests only (never offered as a model).

Each request to ``/v1/chat/completions`` takes the next step of a script (or the step a function returns):
an answer with chosen content / reasoning / tool-call deltas and usage, an HTTP failure, raw SSE bytes written
in separate pieces (to split lines across reads), a connection cut mid-stream, or the whole server going away.
Every request body is recorded in ``requests`` so tests can check what the client sent.

Use it on the test's own loop (``async with ScriptedOpenAIServer(...) as server``) or, for whole-CLI tests
that run their own loop, in a thread (``with ScriptedOpenAIServer(...).in_thread() as server``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.doubles.loopback import LoopbackServer

MODEL = "scripted-model"


@dataclass
class Answer:
    """A normal streamed answer; ``content`` may be a token count (each token is " tok")."""

    content: Sequence[str] | int = 4
    reasoning: Sequence[str] = ()
    tool_calls: Sequence[dict[str, Any]] = ()
    role_first: bool = True
    usage: dict[str, Any] | None = None  # None: computed from the request; {} to send none
    timings: dict[str, Any] | None = None  # llama.cpp-style server timings in the last event
    delay_s: float = 0.0  # between events
    done: bool = True
    finish_reason: str = "length"


@dataclass
class HTTPFail:
    status: int = 500
    body: str = '{"error": {"message": "scripted failure"}}'


@dataclass
class RawSSE:
    """Bytes written as separate writes, with a pause between them so each arrives as its own read."""

    pieces: Sequence[bytes]
    pause_s: float = 0.01


@dataclass
class DieMidStream:
    """Send ``after_tokens`` content events, then cut the connection without finishing the body."""

    after_tokens: int = 2


@dataclass
class ServerGone:
    """Close the listening socket and cut this connection: the server has died."""


Step = Answer | HTTPFail | RawSSE | DieMidStream | ServerGone


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _delta(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _event({"id": "s", "object": "chat.completion.chunk", "model": MODEL,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def prompt_words(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []) if isinstance(m, dict))


@dataclass
class ScriptedOpenAIServer(LoopbackServer):
    """The scripted server. ``script`` is a list (the last step repeats) or ``f(index, body) -> Step``."""

    script: Sequence[Step] | Callable[[int, dict[str, Any]], Step] = field(default_factory=lambda: [Answer()])
    models: Sequence[str] = (MODEL,)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def step(self, index: int, body: dict[str, Any]) -> Step:
        if callable(self.script):
            return self.script(index, body)
        return self.script[min(index, len(self.script) - 1)]

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_post("/v1/chat/completions", self._chat)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        index = len(self.requests)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        step = self.step(index, body)
        if isinstance(step, HTTPFail):
            return web.Response(status=step.status, text=step.body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if isinstance(step, RawSSE):
            for piece in step.pieces:
                await response.write(piece)
                await asyncio.sleep(step.pause_s)
        elif isinstance(step, DieMidStream):
            await response.write(_delta({"role": "assistant", "content": ""}))
            for _ in range(step.after_tokens):
                await response.write(_delta({"content": " tok"}))
            await asyncio.sleep(0.01)
            self._cut(request)
            return response
        elif isinstance(step, ServerGone):
            await response.write(_delta({"role": "assistant", "content": ""}))
            await self.stop_listening()
            self._cut(request)
            return response
        else:
            await self._answer(response, step, body)
        await response.write_eof()
        return response

    @staticmethod
    def _cut(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.close()

    async def _answer(self, response: web.StreamResponse, step: Answer, body: dict[str, Any]) -> None:
        content = [" tok"] * step.content if isinstance(step.content, int) else list(step.content)
        events: list[bytes] = []
        if step.role_first:
            events.append(_delta({"role": "assistant", "content": ""}))
        events += [_delta({"reasoning_content": text}) for text in step.reasoning]
        events += [_delta({"content": text}) for text in content]
        events += [_delta({"tool_calls": [call]}) for call in step.tool_calls]
        events.append(_delta({}, step.finish_reason))
        n_out = len(step.reasoning) + len(content) + len(step.tool_calls)
        usage = step.usage if step.usage is not None else {
            "prompt_tokens": prompt_words(body), "completion_tokens": n_out,
            "total_tokens": prompt_words(body) + n_out}
        if usage or step.timings:
            last: dict[str, Any] = {"id": "s", "object": "chat.completion.chunk", "model": MODEL, "choices": []}
            if usage:
                last["usage"] = usage
            if step.timings:
                last["timings"] = step.timings
            events.append(_event(last))
        if step.done:
            events.append(b"data: [DONE]\n\n")
        for event in events:
            await response.write(event)
            if step.delay_s:
                await asyncio.sleep(step.delay_s)

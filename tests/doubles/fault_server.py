"""TEST DOUBLE: a fault-injecting OpenAI-compatible server on loopback, for tests only (never offered as a model).

Each chat request gets the ``Fault`` that ``plan(index, attempt)`` names: ``index`` counts chat requests from 0,
``attempt`` counts requests carrying the same messages (1 for the first), so "fail each prompt's first try"
is one line. Faults: a normal answer, an HTTP status (500, 404 unknown model, 429 / 503 with ``Retry-After``),
a stream cut after K tokens, garbage SSE, a stall after K tokens, an empty 200, and the whole server dying.

Use it on the test's own loop (``async with FaultServer(plan) as server``) or in a thread for code that runs its
own loop (``with FaultServer(plan).in_thread() as server``).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.doubles.loopback import LoopbackServer
from tests.doubles.scripted_openai_server import prompt_words

MODEL = "fault-model"


@dataclass(frozen=True)
class Ok:
    """A normal streamed answer of ``tokens`` content events, each ``text``, ``delay_s`` apart."""

    tokens: int = 4
    text: str = " 42"
    delay_s: float = 0.0


@dataclass(frozen=True)
class Status:
    """An HTTP error reply, with ``Retry-After`` when given."""

    status: int = 500
    message: str = "injected failure"
    retry_after: str | None = None


@dataclass(frozen=True)
class Cut:
    """``after_tokens`` content events, then the connection is cut without finishing the body."""

    after_tokens: int = 2


@dataclass(frozen=True)
class Garbage:
    """Raw bytes as the body of a 200 event stream, then the end of the body."""

    body: bytes = b"data: {not json\n\n"


@dataclass(frozen=True)
class Stall:
    """``after_tokens`` content events, then silence for ``seconds`` (then the connection is cut)."""

    after_tokens: int = 2
    seconds: float = 30.0


@dataclass(frozen=True)
class Empty:
    """A 200 event stream with an empty body."""


@dataclass(frozen=True)
class Die:
    """One token, then the listening socket closes and this connection is cut: the server is gone."""


Fault = Ok | Status | Cut | Garbage | Stall | Empty | Die
Plan = Callable[[int, int], Fault]


def every_nth(n: int, fault: Fault, otherwise: Fault = Ok()) -> Plan:
    """``fault`` for requests n-1, 2n-1, ... (every nth), ``otherwise`` for the rest."""
    return lambda index, attempt: fault if (index + 1) % n == 0 else otherwise


def first_attempts(fault: Fault, times: int = 1, otherwise: Fault = Ok()) -> Plan:
    """``fault`` for the first ``times`` tries of every prompt, then ``otherwise``: a storm a retry outlasts."""
    return lambda index, attempt: fault if attempt <= times else otherwise


def always(fault: Fault) -> Plan:
    return lambda index, attempt: fault


def _event(obj: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _delta(delta: dict[str, object], finish: str | None = None) -> bytes:
    return _event({"id": "f", "object": "chat.completion.chunk", "model": MODEL,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


@dataclass
class FaultServer(LoopbackServer):
    """The fault server. ``faults`` records the fault each chat request got, in arrival order."""

    plan: Plan = field(default_factory=lambda: always(Ok()))
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    runner_options: dict[str, Any] = field(default_factory=lambda: {"shutdown_timeout": 0.1})  # stalls end fast

    def __post_init__(self) -> None:
        self._attempts: Counter[str] = Counter()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        prompt = json.dumps(body.get("messages"), sort_keys=True)
        self._attempts[prompt] += 1
        fault = self.plan(len(self.faults), self._attempts[prompt])
        self.faults.append(fault)
        if isinstance(fault, Status):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return web.json_response({"error": {"message": fault.message, "type": "injected"}}, status=fault.status,
                                     headers=headers)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if isinstance(fault, Ok):
            await response.write(_delta({"role": "assistant", "content": ""}))
            for _ in range(fault.tokens):
                await response.write(_delta({"content": fault.text}))
                if fault.delay_s:
                    await asyncio.sleep(fault.delay_s)
            await response.write(_delta({}, "stop"))
            usage = {"prompt_tokens": prompt_words(body), "completion_tokens": fault.tokens}
            await response.write(_event({"id": "f", "object": "chat.completion.chunk", "model": MODEL, "choices": [],
                                         "usage": usage}))
            await response.write(b"data: [DONE]\n\n")
        elif isinstance(fault, Garbage):
            await response.write(fault.body)
        elif isinstance(fault, (Cut, Stall)):
            for _ in range(fault.after_tokens):
                await response.write(_delta({"content": " tok"}))
            await asyncio.sleep(fault.seconds if isinstance(fault, Stall) else 0.01)
            self._cut(request)
            return response
        elif isinstance(fault, Die):
            await response.write(_delta({"content": " tok"}))
            await self.stop_listening()
            self._cut(request)
            return response
        await response.write_eof()
        return response

    @staticmethod
    def _cut(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.close()

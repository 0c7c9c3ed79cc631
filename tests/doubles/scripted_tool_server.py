"""TEST DOUBLE: a scripted OpenAI-compatible server for tool calling and agents (loopback, tests only).

The mode is part of the URL: ``http://127.0.0.1:PORT/m/<mode>/v1``. It answers BFCL questions (found by the
user's text and the tool names sent) and the agent tasks (found by the user's request) so that every scorer
path can be proven:

- ``gold``: the right native calls (first allowed value of each answer); agent tasks follow their reference
  solution step by step, then answer (through ``final_answer`` when the framework offers that tool)
- ``hermes`` / ``llama``: the right calls, written in the text (``<tool_call>`` tags / ``<|python_tag|>``)
- ``wrong``: the right function with wrong values; ``wrongfn``: a function that does not exist
- ``malformed``: a native call whose arguments are not JSON; ``extra``: the right calls plus one more
- ``absent``: a plain text answer, no call
- ``truncate``: a stream that stops mid-answer; ``reject``: HTTP 400 for the tool schema
- ``loop``: an agent that calls the calculator forever (``loop-hermes``: the same, written as ``<tool_call>`` text)
- ``mixed``: one of gold, hermes, llama, wrong, malformed, absent, truncate, reject per question (by hash)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

from aiohttp import web

from mlx_benchmarks.agents.tasks import task_by_prompt
from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.scoring.tool_schema import tool_name
from tests.tools.gold import gold_calls

MODEL = "scripted-tool-model"
MIXED = ("gold", "hermes", "llama", "wrong", "malformed", "absent", "truncate", "reject")
Call = tuple[str, str]  # (name, arguments as JSON text)


@cache
def bfcl_index() -> dict[tuple[str, tuple[str, ...]], list[Call] | None]:
    """(last user text, sent tool names) -> the gold calls, over every BFCL category."""
    index: dict[tuple[str, tuple[str, ...]], list[Call] | None] = {}
    for category in bfcl.CATEGORIES:
        for record in bfcl.load(category)[0]:
            names = tuple(sorted(tool_name(f["name"]) for f in record.meta["functions"]))
            truth = record.meta["ground_truth"]
            if truth is None and record.meta["kind"] == "relevance":
                first = record.meta["functions"][0]
                required = (first.get("parameters") or {}).get("required") or []
                calls: list[Call] | None = [(tool_name(first["name"]), json.dumps({k: "x" for k in required}))]
            elif truth is None:
                calls = None  # irrelevance: no call is due
            else:
                calls = [(c.name, c.raw_arguments) for c in gold_calls(record.meta["functions"], truth or [])]
            index[(record.prompt, names)] = calls
    return index


def _user_text(messages: list[dict[str, Any]], position: int) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    content = users[position]["content"] if users else ""
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def _tool_results(messages: list[dict[str, Any]]) -> int:
    # native tool messages, our text-mode <tool_response> turns, and smolagents' "Observation:" turns
    return sum(1 for m in messages if m.get("role") == "tool" or (m.get("role") == "user" and (
        "<tool_response>" in str(m.get("content")) or str(m.get("content")).startswith("Observation:"))))


def agent_step(body: dict[str, Any], mode: str) -> list[Call] | str | None:
    """The next move on an agent task: calls, a final text, or None when the request is not an agent task."""
    messages = body.get("messages") or []
    task = task_by_prompt(_user_text(messages, 0))
    if task is None:
        return None
    if mode == "absent":
        return "I am not sure."
    if mode in ("loop", "loop-hermes"):
        return [("calculator", json.dumps({"expression": "1 + 1"}))]
    done = _tool_results(messages)
    if done < len(task.reference):
        name, args = task.reference[done]
        return [(name, json.dumps(args))]
    answer = f"The answer is {task.answer}."
    offered = {t["function"]["name"] for t in body.get("tools") or []}
    return [("final_answer", json.dumps({"answer": answer}))] if "final_answer" in offered else answer


def plan(body: dict[str, Any], mode: str) -> list[Call] | str:
    """Calls or a text answer for one request in ``mode`` (mixed resolved by the caller)."""
    step = agent_step(body, mode)
    if step is not None:
        return step
    messages = body.get("messages") or []
    names = tuple(sorted(t["function"]["name"] for t in body.get("tools") or []))
    key = (_user_text(messages, -1), names)
    index = bfcl_index()
    if mode == "absent" or key not in index:
        return "I do not know how to help with that."
    gold = index[key]
    if gold is None:  # an irrelevance question: the right answer is no call
        if mode in ("gold", "hermes", "llama") or not names:
            return "No function fits this request."
        return [(names[0], "{}")]
    if mode == "wrongfn":
        return [("no_such_function", "{}")]
    if mode == "malformed":
        return [(gold[0][0], '{"broken": ')]
    if mode == "extra":
        return [*gold, gold[0]]
    if mode == "wrong":
        return [(name, json.dumps({k: "WRONG-VALUE" for k in json.loads(args)} or {"bogus": 1}))
                for name, args in gold]
    return gold


class ScriptedToolServer:
    """aiohttp on 127.0.0.1; ``url(mode)`` is the base URL a target uses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each chat request's Authorization header
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/m/{mode}/v1"

    async def start(self) -> ScriptedToolServer:
        app = web.Application()
        app.router.add_get("/m/{mode}/v1/models", self._models)
        app.router.add_post("/m/{mode}/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ScriptedToolServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[ScriptedToolServer]:
        """Serve from a background thread (for whole-CLI tests that run their own event loop)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="scripted-tool-server", daemon=True)
        thread.start()
        ready.wait(30)
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("Authorization"))
        mode = request.match_info["mode"]
        if mode == "mixed":
            digest = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).digest()
            mode = MIXED[digest[0] % len(MIXED)]
        if mode == "reject" and body.get("tools"):
            return web.json_response({"error": {"message": "Invalid schema for function: scripted rejection",
                                                "type": "invalid_request_error"}}, status=400)
        answer = plan(body, mode)
        text, calls = (answer, []) if isinstance(answer, str) else ("", answer)
        if mode in ("hermes", "loop-hermes") and calls:
            text = "".join(f'<tool_call>\n{{"name": "{n}", "arguments": {a}}}\n</tool_call>' for n, a in calls)
            calls = []
        elif mode == "llama" and calls:
            text = "<|python_tag|>" + "; ".join(f'{{"name": "{n}", "parameters": {a}}}' for n, a in calls)
            calls = []
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in self._events(text, calls, truncated=mode == "truncate", prompt=json.dumps(body)):
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        if mode != "truncate":
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _events(self, text: str, calls: list[Call], *, truncated: bool, prompt: str) -> Iterator[dict[str, Any]]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": MODEL,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        if truncated:
            yield chunk({"content": "I will call"})
            return
        for piece in (text[: len(text) // 2], text[len(text) // 2:]) if text else ():
            yield chunk({"content": piece})
        for index, (name, arguments) in enumerate(calls):
            yield chunk({"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                         "function": {"name": name, "arguments": ""}}]})
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls" if calls else "stop")
        yield {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": MODEL, "choices": [],
               "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": 8 + len(text) // 4,
                         "total_tokens": len(prompt) // 4 + 8 + len(text) // 4}}

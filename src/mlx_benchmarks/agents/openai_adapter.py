"""A loopback OpenAI-compatible endpoint that forwards to a Target, so an agent framework's own OpenAI client
can drive any target (embedded, mlx:, http, a test double) and we still count its requests and tokens.

It listens on 127.0.0.1 only, on a free port, for as long as one framework run lasts.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from mlx_benchmarks.errors import TargetError
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.scoring.tool_parsers import ParsedCall, extract_calls
from mlx_benchmarks.scoring.tool_schema import renders_tools
from mlx_benchmarks.targets.base import ChatRequest, Target
from mlx_benchmarks.targets.retry import retrying

TEXT_TOOLS_PROMPT = (
    "You may call functions. The available functions are within <tools></tools>: <tools>{tools}</tools>\n"
    'To call one, reply with <tool_call>{{"name": <function-name>, "arguments": <args-dict>}}</tool_call>.'
)


@dataclass
class AdapterStats:
    """What went through the adapter (read before and after a task to attribute it)."""

    requests: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    retries: int = 0  # requests to the target retried after 429/503, a reset or an idle stream


def flatten_content(content: Any) -> str | None:
    """OpenAI content parts (``[{"type": "text", "text": ...}]``) as one string; our targets take strings."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def to_chat_request(body: dict[str, Any], *, native_tools: bool, default_max_tokens: int,
                    seed: int | None) -> ChatRequest:
    """The framework's request body as our ChatRequest (tools in a system prompt for text-only targets)."""
    messages = []
    for message in body.get("messages") or []:
        out = {k: v for k, v in message.items() if k in ("role", "content", "tool_calls", "tool_call_id", "name")}
        out["content"] = flatten_content(message.get("content"))
        if not native_tools and out["role"] == "tool":
            out = {"role": "user", "content": f"<tool_response>\n{out['content']}\n</tool_response>"}
        elif not native_tools and out.get("tool_calls"):
            calls = "".join(f"<tool_call>{json.dumps(c.get('function', {}))}</tool_call>" for c in out.pop("tool_calls"))
            out["content"] = (out.get("content") or "") + calls
        messages.append(out)
    tools = body.get("tools")
    if tools and not native_tools:
        messages.insert(0, {"role": "system", "content": TEXT_TOOLS_PROMPT.format(tools=json.dumps(tools))})
    stop = body.get("stop")
    return ChatRequest(
        messages=messages,
        max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or default_max_tokens),
        temperature=float(body.get("temperature") or 0.0),
        seed=seed,
        stop=[stop] if isinstance(stop, str) else stop,
        tools=tools if native_tools else None,
        tool_choice=body.get("tool_choice") if native_tools and tools else None,
        cache_prompt=True,  # a framework re-sends the whole conversation every step
    )


def _tool_calls_json(calls: list[ParsedCall]) -> list[dict[str, Any]]:
    return [{"id": f"call_{secrets.token_hex(6)}", "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments) if c.json_valid else c.raw_arguments}}
            for c in calls]


async def _collect(target: Target, chat: ChatRequest) -> Completion:
    return await collect(target.stream(chat))


def _failure(message: str) -> web.Response:
    # The adapter has already retried per the run's policy (--max-retries); ``x-should-retry: false`` keeps the
    # frameworks' OpenAI clients (Qwen-Agent's cannot be configured) from multiplying those attempts.
    return web.json_response({"error": {"message": message, "type": "target_error"}}, status=502,
                             headers={"x-should-retry": "false"})


class TargetAdapterServer:
    """``/v1/chat/completions`` and ``/v1/models`` on loopback, answered by ``target``."""

    def __init__(self, target: Target, *, max_tokens: int = 512, seed: int | None = None,
                 max_retries: int | None = None) -> None:
        self.target = target
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.seed = seed
        self.stats = AdapterStats()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.native_tools = renders_tools(target)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.target.info.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        chat = to_chat_request(body, native_tools=self.native_tools,
                               default_max_tokens=self.max_tokens, seed=self.seed)
        self.stats.requests += 1
        retry = retrying(self.max_retries)
        try:
            completion = await retry(partial(_collect, self.target, chat))
        except (TargetError, OSError, TimeoutError) as exc:
            self.stats.failures += 1
            return _failure(f"target failed: {exc}")
        finally:
            self.stats.retries += retry.count
        if completion.error:
            self.stats.failures += 1
            return _failure(completion.error)
        usage = completion.usage
        self.stats.prompt_tokens += (usage.prompt_tokens or 0) if usage else 0
        self.stats.completion_tokens += (usage.completion_tokens or 0) if usage else 0
        self.stats.cached_prompt_tokens += (usage.cached_prompt_tokens or 0) if usage else 0
        message = self._message(completion, parse_text=bool(body.get("tools")))
        if body.get("stream"):
            return await self._stream(request, message, completion)
        return web.json_response(self._envelope("chat.completion", {"message": message}, completion))

    def _message(self, completion: Completion, *, parse_text: bool) -> dict[str, Any]:
        # A request without ``tools`` comes from a framework that prompts for calls and parses the reply
        # itself (Qwen-Agent's ``<tool_call>`` text): its text goes back as written, never as parsed calls.
        calls = extract_calls(completion.text, completion.tool_calls, parse_text=parse_text)
        text = completion.text if not calls or calls[0].path == "native" else ""
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = _tool_calls_json(calls)
        return message

    def _envelope(self, kind: str, choice: dict[str, Any], completion: Completion) -> dict[str, Any]:
        usage = completion.usage
        finish = "tool_calls" if choice.get("message", {}).get("tool_calls") else "stop"
        return {"id": f"chatcmpl-{secrets.token_hex(6)}", "object": kind, "created": int(time.time()),
                "model": self.target.info.model, "choices": [{"index": 0, **choice, "finish_reason": finish}],
                "usage": {"prompt_tokens": (usage.prompt_tokens or 0) if usage else 0,
                          "completion_tokens": (usage.completion_tokens or 0) if usage else 0,
                          "total_tokens": ((usage.prompt_tokens or 0) + (usage.completion_tokens or 0)) if usage else 0,
                          "prompt_tokens_details": {"cached_tokens": (usage.cached_prompt_tokens or 0) if usage else 0}}}

    async def _stream(self, request: web.Request, message: dict[str, Any], completion: Completion) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        delta: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
        chunk = self._envelope("chat.completion.chunk", {"delta": delta}, completion)
        await response.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response

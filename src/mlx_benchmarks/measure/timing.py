"""Turn a stream of stamped chunks into one completion with its timings.

Definitions (recorded in every speed envelope's tags):
- TTFT: request sent -> first generated token of any kind (content, reasoning or tool-call delta).
  A role-only or empty chunk is not a token.
- decode tok/s = (output tokens - 1) / (last token time - first token time)
- prompt tok/s = prompt tokens / TTFT
- total tok/s  = (prompt + output tokens) / request duration
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from mlx_benchmarks.targets.base import Chunk, Usage, now_ns

TIMING_DEFINITIONS = {
    "ttft_definition": "first generated token of any kind (content, reasoning or tool-call delta)",
    "decode_tps_definition": "(output_tokens - 1) / (last_token_time - first_token_time)",
    "prompt_tps_definition": "prompt_tokens / ttft",
    "total_tps_definition": "(prompt_tokens + output_tokens) / request_duration",
    "clock": "time.perf_counter_ns, stamped on receipt before parsing",
}

TOKEN_KINDS = ("content", "reasoning", "tool_call")


@dataclass
class Completion:
    """Everything measured about one request."""

    start_ns: int
    end_ns: int = 0
    text: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    first_byte_ns: int | None = None
    first_token_ns: int | None = None
    first_content_ns: int | None = None
    first_reasoning_ns: int | None = None
    first_tool_call_ns: int | None = None
    token_times_ns: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_ns is None else (self.first_token_ns - self.start_ns) / 1e6

    def since_start_ms(self, t_ns: int | None) -> float | None:
        return None if t_ns is None else (t_ns - self.start_ns) / 1e6

    @property
    def streamed_events(self) -> int:
        """Token-bearing events seen (a fallback token count when nothing better exists)."""
        return len(self.token_times_ns)

    def itl_ms(self) -> list[float]:
        """Inter-token latencies between consecutive token-bearing events."""
        times = self.token_times_ns
        return [(b - a) / 1e6 for a, b in pairwise(times)]


def decode_tps(output_tokens: int, first_ns: int | None, last_ns: int | None) -> float | None:
    """(output tokens - 1) / (last token time - first token time)."""
    if first_ns is None or last_ns is None or output_tokens < 2 or last_ns <= first_ns:
        return None
    return (output_tokens - 1) / ((last_ns - first_ns) / 1e9)


def _merge_tool_delta(calls: list[dict[str, Any]], parts: list[tuple[list[str], list[str]]],
                      delta: dict[str, Any]) -> None:
    """Fold one tool-call delta into ``calls``; name and argument pieces go to ``parts`` (joined once)."""
    index = int(delta.get("index", len(calls)))
    while len(calls) <= index:
        calls.append({"id": None, "name": "", "arguments": ""})
        parts.append(([], []))
    call, (names, arguments_parts) = calls[index], parts[index]
    if delta.get("id"):
        call["id"] = delta["id"]
    function = delta.get("function") or {}
    if function.get("name"):
        names.append(function["name"])
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        arguments_parts.append(arguments)
    elif arguments is not None:
        arguments_parts.append(json.dumps(arguments))


async def collect(stream: AsyncIterator[Chunk], start_ns: int | None = None, *,
                  keep_text: bool = True) -> Completion:
    """Drain a target stream into a Completion. Exceptions propagate to the caller.

    Text arrives in pieces and is joined once at the end (``+=`` on an attribute copies the whole answer at
    every piece: quadratic time, and two copies alive at once). ``keep_text=False`` keeps no text at all, for
    load that only times answers: a level of 60 MB answers then holds none of them.
    """
    completion = Completion(start_ns=now_ns() if start_ns is None else start_ns)
    text: list[str] = []
    reasoning: list[str] = []
    call_parts: list[tuple[list[str], list[str]]] = []
    async for chunk in stream:
        if chunk.first_byte_ns is not None and completion.first_byte_ns is None:
            completion.first_byte_ns = chunk.first_byte_ns
        if chunk.kind in TOKEN_KINDS and (chunk.text or chunk.tool_call):
            if completion.first_token_ns is None:
                completion.first_token_ns = chunk.t_ns
            completion.token_times_ns.append(chunk.t_ns)
        if chunk.kind == "content" and chunk.text:
            if keep_text:
                text.append(chunk.text)
            completion.first_content_ns = completion.first_content_ns or chunk.t_ns
        elif chunk.kind == "reasoning" and chunk.text:
            if keep_text:
                reasoning.append(chunk.text)
            completion.first_reasoning_ns = completion.first_reasoning_ns or chunk.t_ns
        elif chunk.kind == "tool_call" and chunk.tool_call:
            _merge_tool_delta(completion.tool_calls, call_parts, chunk.tool_call)
            completion.first_tool_call_ns = completion.first_tool_call_ns or chunk.t_ns
        elif chunk.kind == "error":
            completion.error = chunk.text or "target reported an error"
        if chunk.usage is not None:
            completion.usage = chunk.usage
        if chunk.finish_reason:
            completion.finish_reason = chunk.finish_reason
    completion.end_ns = now_ns()
    completion.text, completion.reasoning = "".join(text), "".join(reasoning)
    for call, (names, arguments) in zip(completion.tool_calls, call_parts, strict=True):
        call["name"], call["arguments"] = "".join(names), "".join(arguments)
    return completion

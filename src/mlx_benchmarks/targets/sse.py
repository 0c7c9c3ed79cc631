"""Server-sent events of OpenAI-compatible chat streams -> stamped ``Chunk``s.

Two layers: ``SSEDecoder`` turns raw bytes (split anywhere by the network) into event payloads, and
``chunks_from_event`` turns one payload into chunks. The caller stamps each network read with ``now_ns()``
before either runs, so parsing cost never shifts a timestamp.
"""

from __future__ import annotations

import json
from typing import Any

from mlx_benchmarks.targets.base import Chunk, Usage

DONE = b"[DONE]"


class SSEDecoder:
    """Incremental SSE decoder: ``feed(bytes)`` returns the complete events' ``data`` payloads.

    Follows the SSE rules that matter for chat streams: lines end in LF, CRLF or CR; an event ends at a blank
    line; several ``data:`` lines of one event join with LF; comment lines (``:``) and other fields are ignored.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data
        # CR alone is a legal line end; normalise so one split handles every form
        if b"\r" in buffer:
            # a trailing CR may be the first half of CRLF split across reads: keep it for the next feed
            keep_cr = buffer.endswith(b"\r")
            buffer = buffer[:-1] if keep_cr else buffer
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if keep_cr else b"")
        *lines, self._buffer = buffer.split(b"\n")
        events: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
            # "event:", "id:", "retry:" and ":" comments carry nothing a chat stream needs
        return events

    def flush(self) -> list[bytes]:
        """Whatever the stream left without a closing blank line (some servers end that way)."""
        events = self.feed(b"\n\n") if self._buffer.strip() or self._data else []
        self._buffer = b""
        return events


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_event(event: dict[str, Any]) -> Usage | None:
    """``usage`` (OpenAI, with ``prompt_tokens_details.cached_tokens`` where the server's prefix cache served
    part of the prompt) and llama.cpp's ``timings`` (server-side prompt and generation tok/s, ``cache_n``)."""
    usage = event.get("usage")
    timings = event.get("timings")
    if not isinstance(usage, dict) and not isinstance(timings, dict):
        return None
    usage = usage if isinstance(usage, dict) else {}
    timings = timings if isinstance(timings, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else _int(timings.get("cache_n"))
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")) if usage else _int(timings.get("prompt_n")),
        completion_tokens=_int(usage.get("completion_tokens")) if usage else _int(timings.get("predicted_n")),
        server_prompt_tps=_number(timings.get("prompt_per_second")),
        server_generation_tps=_number(timings.get("predicted_per_second")),
        cached_prompt_tokens=cached,
    )


def _error_text(event: dict[str, Any]) -> str:
    error = event["error"]
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    return f"server error in stream: {str(error)[:200]}"


def chunks_from_event(payload: bytes, t_ns: int) -> list[Chunk]:
    """The chunks one event carries; a malformed event becomes one ``error`` chunk, never an exception."""
    try:
        event = json.loads(payload)
    except ValueError:
        return [Chunk(t_ns, "error", text=f"malformed JSON in stream: {payload[:120]!r}")]
    if not isinstance(event, dict):
        return [Chunk(t_ns, "error", text=f"unexpected event in stream: {payload[:120]!r}")]
    if event.get("error"):
        return [Chunk(t_ns, "error", text=_error_text(event))]
    out: list[Chunk] = []
    finish: str | None = None
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        finish = choice.get("finish_reason") or None
        delta = choice.get("delta")
        if not isinstance(delta, dict):  # /v1/completions style, or a server that puts text at the top
            delta = {"content": choice.get("text")} if isinstance(choice.get("text"), str) else {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out.append(Chunk(t_ns, "reasoning", text=reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            out.append(Chunk(t_ns, "content", text=content))
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                out.append(Chunk(t_ns, "tool_call", tool_call=call))
    usage = usage_from_event(event)
    if usage is not None:
        out.append(Chunk(t_ns, "usage", usage=usage))
    if not out:
        # role-only, empty-content or keep-alive events: seen, never a token
        out.append(Chunk(t_ns, "role"))
    if finish:
        last = out[-1]
        out[-1] = Chunk(last.t_ns, last.kind, last.text, last.tool_call, last.usage, finish, last.first_byte_ns)
    return out

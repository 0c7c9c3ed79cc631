"""Server-sent events of OpenAI-compatible chat streams -> stamped ``Chunk``s.

Two layers: ``SSEDecoder`` turns raw bytes (split anywhere by the network) into event payloads, and
``chunks_from_event`` turns one payload into chunks. The caller stamps each network read with ``now_ns()``
before either runs, so parsing cost never shifts a timestamp.

Nothing a server sends can exhaust memory or escape as an unexpected exception: the decoder bounds a line and
an event (``TargetProtocolError``, a failure of that one request), and the parser checks every field it reads
(a malformed event becomes one ``error`` chunk).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from mlx_benchmarks.errors import TargetProtocolError
from mlx_benchmarks.targets.base import Chunk, Usage

DONE = b"[DONE]"
MAX_LINE_BYTES = 4 << 20  # one SSE line; a real chat chunk is a few hundred bytes
MAX_EVENT_BYTES = 8 << 20  # one event's data lines joined
MAX_TOOL_CALLS = 128  # parallel tool calls in one answer: a tool-call index lies in [0, 128)
MAX_COUNT = 2**53 - 1  # a token count beyond this is not a count (and would not fit a float exactly)


class SSEDecoder:
    """Incremental SSE decoder: ``feed(bytes)`` returns the complete events' ``data`` payloads.

    Follows the SSE rules that matter for chat streams: lines end in LF, CRLF or CR; an event ends at a blank
    line; several ``data:`` lines of one event join with LF; comment lines (``:``) and other fields are ignored.
    A line over ``MAX_LINE_BYTES`` or an event over ``MAX_EVENT_BYTES`` raises ``TargetProtocolError``.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._data_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data
        # CR alone is a legal line end; normalise so one split handles every form
        if b"\r" in buffer:
            # a trailing CR may be the first half of CRLF split across reads: keep it for the next feed
            keep_cr = buffer.endswith(b"\r")
            buffer = buffer[:-1] if keep_cr else buffer
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if keep_cr else b"")
        *lines, self._buffer = buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            raise TargetProtocolError(f"stream line longer than {MAX_LINE_BYTES} bytes")
        events: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data, self._data_bytes = [], 0
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
                self._data_bytes += len(value)
                if self._data_bytes > MAX_EVENT_BYTES:
                    raise TargetProtocolError(f"stream event longer than {MAX_EVENT_BYTES} bytes")
            # "event:", "id:", "retry:" and ":" comments carry nothing a chat stream needs
        return events

    def flush(self) -> list[bytes]:
        """Whatever the stream left without a closing blank line (some servers end that way)."""
        events = self.feed(b"\n\n") if self._buffer.strip() or self._data else []
        self._buffer = b""
        return events


class MalformedEvent(ValueError):
    """One field of one event has the wrong type or an out-of-range value (becomes an ``error`` chunk)."""


def _refuse_constant(name: str) -> float:
    raise MalformedEvent(f"non-finite number {name} in stream")


# one decoder for every event: json.loads with a keyword argument builds a new decoder per call (measured:
# about a third of the parse time of a token event)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _get(container: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``container[key]`` if it is absent / null (None) or of ``kind``; anything else is malformed."""
    value = container.get(key)
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise MalformedEvent(f"{where}.{key} is {type(value).__name__}")


def _count(container: dict[str, Any], key: str, where: str) -> int | None:
    """A token count: a non-negative integer (an integral float is accepted), or absent."""
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():  # False for NaN and the infinities
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    raise MalformedEvent(f"{where}.{key} is not a count: {str(value)[:40]}")


def _rate(container: dict[str, Any], key: str, where: str) -> float | None:
    """A server-side tokens/s figure: finite and non-negative, or absent."""
    value = _get(container, key, (int, float), where)
    if value is None:
        return None
    if not (math.isfinite(value) and value >= 0):
        raise MalformedEvent(f"{where}.{key} is not a finite non-negative rate: {value!r}")
    return float(value)


def usage_from_event(event: dict[str, Any]) -> Usage | None:
    """``usage`` (OpenAI, with ``prompt_tokens_details.cached_tokens`` where the server's prefix cache served
    part of the prompt) and llama.cpp's ``timings`` (server-side prompt and generation tok/s, ``cache_n``).

    Raises MalformedEvent when either is present with a field of the wrong type or range.
    """
    usage = _get(event, "usage", dict, "$")
    timings = _get(event, "timings", dict, "$")
    if usage is None and timings is None:
        return None
    usage = usage or {}
    timings = timings or {}
    details = _get(usage, "prompt_tokens_details", dict, "$.usage")
    if details is not None:
        cached = _count(details, "cached_tokens", "$.usage.prompt_tokens_details")
    else:
        cached = _count(timings, "cache_n", "$.timings")
    return Usage(
        prompt_tokens=_count(usage, "prompt_tokens", "$.usage") if usage else _count(timings, "prompt_n", "$.timings"),
        completion_tokens=(_count(usage, "completion_tokens", "$.usage") if usage
                           else _count(timings, "predicted_n", "$.timings")),
        server_prompt_tps=_rate(timings, "prompt_per_second", "$.timings"),
        server_generation_tps=_rate(timings, "predicted_per_second", "$.timings"),
        cached_prompt_tokens=cached,
    )


def _tool_call(call: Any, where: str) -> dict[str, Any]:
    """A checked copy of one tool-call delta: only the fields downstream reads, each of its type."""
    if not isinstance(call, dict):
        raise MalformedEvent(f"{where} is {type(call).__name__}, not an object")
    out: dict[str, Any] = {}
    index = call.get("index")
    if index is not None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_TOOL_CALLS:
            raise MalformedEvent(f"{where}.index is not an integer in [0, {MAX_TOOL_CALLS}): {str(index)[:40]}")
        out["index"] = index
    for key in ("id", "type"):
        value = _get(call, key, str, where)
        if value is not None:
            out[key] = value
    function = _get(call, "function", dict, where)
    if function is not None:
        name = _get(function, "name", str, f"{where}.function")
        arguments = _get(function, "arguments", (str, dict), f"{where}.function")
        if isinstance(arguments, dict):  # some servers send the object itself; downstream joins strings
            arguments = json.dumps(arguments)
        out["function"] = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    return out


def _choice_chunks(event: dict[str, Any], t_ns: int) -> tuple[list[Chunk], str | None]:
    choices = _get(event, "choices", list, "$")
    if not choices:
        return [], None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise MalformedEvent(f"$.choices[0] is {type(choice).__name__}, not an object")
    finish = _get(choice, "finish_reason", str, "$.choices[0]") or None
    delta = _get(choice, "delta", dict, "$.choices[0]")
    if delta is None:  # /v1/completions style, or a server that puts text at the top
        text = _get(choice, "text", str, "$.choices[0]")
        delta = {"content": text} if text is not None else {}
    where = "$.choices[0].delta"
    out: list[Chunk] = []
    reasoning = _get(delta, "reasoning_content", str, where) or _get(delta, "reasoning", str, where)
    if reasoning:
        out.append(Chunk(t_ns, "reasoning", text=reasoning))
    content = _get(delta, "content", str, where)
    if content:
        out.append(Chunk(t_ns, "content", text=content))
    calls = _get(delta, "tool_calls", list, where) or []
    if len(calls) > MAX_TOOL_CALLS:
        raise MalformedEvent(f"{where}.tool_calls holds {len(calls)} calls (at most {MAX_TOOL_CALLS})")
    out += [Chunk(t_ns, "tool_call", tool_call=_tool_call(call, f"{where}.tool_calls[{i}]"))
            for i, call in enumerate(calls)]
    return out, finish


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    return f"server error in stream: {str(error)[:200]}"


def chunks_from_event(payload: bytes, t_ns: int) -> list[Chunk]:
    """The chunks one event carries; a malformed event becomes one ``error`` chunk, never an exception.

    Every field read is type- and range-checked (strings are strings, counts are non-negative integers,
    rates are finite, at most ``MAX_TOOL_CALLS`` parallel tool calls with an index below it); NaN and
    Infinity are refused.
    """
    try:
        event = _DECODER.decode(payload.decode("utf-8"))
    except MalformedEvent as exc:
        return [Chunk(t_ns, "error", text=f"malformed event in stream: {exc}")]
    except (ValueError, RecursionError):  # bad JSON or UTF-8, an integer past the digit limit, deep nesting
        return [Chunk(t_ns, "error", text=f"malformed JSON in stream: {payload[:120]!r}")]
    if not isinstance(event, dict):
        return [Chunk(t_ns, "error", text=f"unexpected event in stream: {payload[:120]!r}")]
    if event.get("error"):
        return [Chunk(t_ns, "error", text=_error_text(event["error"]))]
    try:
        out, finish = _choice_chunks(event, t_ns)
        usage = usage_from_event(event)
    except MalformedEvent as exc:
        return [Chunk(t_ns, "error", text=f"malformed event in stream: {exc}")]
    if usage is not None:
        out.append(Chunk(t_ns, "usage", usage=usage))
    if not out:
        # role-only, empty-content or keep-alive events: seen, never a token
        out.append(Chunk(t_ns, "role"))
    if finish:
        out[-1] = replace(out[-1], finish_reason=finish)
    return out

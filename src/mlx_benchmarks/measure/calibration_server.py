"""A loopback OpenAI-compatible SSE server whose timing is known: the harness's own yardstick.

Each streamed answer is a role-only chunk at once (which a correct client must not count as a token), the
first token ``ttft_ms`` after the request arrived, then one token every ``itl_ms``, each scheduled from the
request's arrival so delays do not drift, then a finish chunk, a usage chunk and ``[DONE]``. With both delays
at zero the whole answer goes out in one write, so the server costs almost nothing and the client's ceiling
shows. The server records when it really wrote each first token (``stats()``, or ``GET /calibration/stats``),
so a client's timing error can be split into the server's own lateness and the client's.

Raw asyncio (uvloop when present), standard library only, so a subprocess starts in a fraction of a second:
``python -m mlx_benchmarks.measure.calibration_server --port 0 --ttft-ms 50 --itl-ms 5`` prints
``PORT <n>`` on its first line and serves until SIGTERM, SIGINT or end of standard input.

Knobs that make the server behave like a real one whose figures are known in advance:
- ``capacity`` K: K slots (a semaphore); a request waits for a slot, and its first token is due ``ttft_ms``
  after it got one, so the server serves at most K / (ttft + (n - 1) * itl) requests a second;
- ``prefill_ms_per_token`` P: the first token is due P ms later per prompt token not served by the cache;
- ``prefix_cache``: a prompt's longest common word prefix with any recent prompt is "cached": it costs no
  prefill and is reported as ``usage.prompt_tokens_details.cached_tokens``;
- ``record``: every request body is kept (``received``), so tests assert on the bytes that arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from typing import Any, cast

MODEL = "calibration-model"
_BASE = {"id": "calib", "model": MODEL, "created": 0, "object": "chat.completion.chunk"}


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _sse({**_BASE, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _json_response(obj: Any, status: str = "200 OK") -> bytes:
    body = json.dumps(obj).encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
ROLE = _chunk({"role": "assistant", "content": ""})
TOKEN = _chunk({"content": " tok"})
THINK = _chunk({"reasoning_content": " hmm"})
MODELS = _json_response({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "calibration"}]})
HEALTH = _json_response({"status": "ok"})


def _prompt_words(request: dict[str, Any]) -> list[str]:
    """Prompt "tokens" are whitespace-separated words of the message texts: exact and tokenizer-free."""
    words: list[str] = []
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            words.extend(content.split())
    return words


def _shared_words(a: list[str], b: list[str]) -> int:
    """Length of the common word prefix of two prompts."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


RECENT_PROMPTS = 64  # how many prompts the simulated prefix cache remembers


class CalibrationServer:
    """The server; ``await start()`` on a running loop, ``await close()`` to stop."""

    def __init__(self, *, ttft_ms: float = 0.0, itl_ms: float = 0.0, reasoning_tokens: int = 0,
                 host: str = "127.0.0.1", port: int = 0, capacity: int | None = None,
                 prefill_ms_per_token: float = 0.0, prefix_cache: bool = False, record: bool = False) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the calibration server listens on loopback only")
        if capacity is not None and capacity < 1:
            raise ValueError("capacity must be at least 1 slot")
        self.ttft_ms, self.itl_ms, self.reasoning_tokens = ttft_ms, itl_ms, reasoning_tokens
        self.capacity, self.prefill_ms_per_token, self.prefix_cache = capacity, prefill_ms_per_token, prefix_cache
        self.record = record
        self.received: list[bytes] = []  # request bodies, in arrival order (with ``record``)
        self.recent: list[list[str]] = []  # prompts the simulated prefix cache holds
        self.slots: asyncio.Semaphore | None = None
        self.in_service = self.peak_in_service = 0
        self.host, self.port = host, port
        self.served = 0
        self.first_token_lateness_ns: list[int] = []  # actual write time - (arrival + ttft)
        self.itl_actual_ns: list[int] = []
        self._server: asyncio.AbstractServer | None = None
        self._cache: dict[tuple[int, int], bytes] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.slots = asyncio.Semaphore(self.capacity) if self.capacity else None
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def stats(self) -> dict[str, Any]:
        """How late the server itself was (ms), next to what it was asked for."""
        def pct(values: list[int], q: float) -> float | None:
            data = sorted(values)
            return None if not data else data[min(len(data) - 1, int(q * len(data)))] / 1e6

        return {"served": self.served, "ttft_ms_set": self.ttft_ms, "itl_ms_set": self.itl_ms,
                "first_token_lateness_ms": {"p50": pct(self.first_token_lateness_ns, 0.5),
                                            "p99": pct(self.first_token_lateness_ns, 0.99)},
                "itl_actual_ms": {"p50": pct(self.itl_actual_ns, 0.5), "p99": pct(self.itl_actual_ns, 0.99)}}

    @property
    def simple(self) -> bool:
        """No slot, prefill or cache to model: a zero-delay answer may go out in one write."""
        return self.slots is None and not self.prefill_ms_per_token and not self.prefix_cache

    def cached_tokens(self, words: list[str]) -> int:
        """Words served by the simulated prefix cache; the prompt is remembered for the next request."""
        if not self.prefix_cache:
            return 0
        cached = max((_shared_words(words, seen) for seen in self.recent), default=0)
        self.recent = [*self.recent[-(RECENT_PROMPTS - 1):], words]
        return min(cached, max(len(words) - 1, 0))  # as real caches do, the last prompt token is recomputed

    def whole_answer(self, max_tokens: int, prompt_tokens: int) -> bytes:
        """The zero-delay answer, built once per shape and cached."""
        key = (max_tokens, prompt_tokens)
        if key not in self._cache:
            body = b"".join(self.answer_parts(max_tokens, prompt_tokens))
            self._cache[key] = STREAM_HEAD + _http_chunk(body) + b"0\r\n\r\n"
        return self._cache[key]

    def answer_parts(self, max_tokens: int, prompt_tokens: int, cached: int | None = None) -> list[bytes]:
        tokens = [THINK if i < self.reasoning_tokens else TOKEN for i in range(max_tokens)]
        counts: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": max_tokens,
                                  "total_tokens": prompt_tokens + max_tokens}
        if cached is not None:
            counts["prompt_tokens_details"] = {"cached_tokens": cached}
        usage = _sse({**_BASE, "choices": [], "usage": counts})
        return [ROLE, *tokens, _chunk({}, "length"), usage, b"data: [DONE]\n\n"]


async def _sleep_until(due_ns: int) -> None:
    """Sleep, then yield until the due time: event-loop timers may fire up to a millisecond early."""
    delay = (due_ns - time.perf_counter_ns()) / 1e9
    if delay > 0.002:
        await asyncio.sleep(delay - 0.001)
    while time.perf_counter_ns() < due_ns:
        await asyncio.sleep(0)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; requests on it are answered in order."""

    def __init__(self, server: CalibrationServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.previous: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        arrived = time.perf_counter_ns()
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
            length = int(headers.get("content-length", 0))
            if len(self.buffer) < end + 4 + length:
                return  # wait for the rest of the body
            body, self.buffer = self.buffer[end + 4:end + 4 + length], self.buffer[end + 4 + length:]
            self._answer(method, path, body, arrived)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _answer(self, method: str, path: str, body: bytes, arrived: int) -> None:
        server = self.server
        if method == "GET":
            if path.startswith("/calibration/stats"):
                self._write(_json_response(server.stats()))
            elif "/models" in path:
                self._write(MODELS)
            elif path.startswith("/health"):
                self._write(HEALTH)
            else:
                self._write(_json_response({"error": "not found"}, "404 Not Found"))
            return
        try:
            request = json.loads(body or b"{}")
            max_tokens = max(1, int(request.get("max_tokens") or request.get("max_completion_tokens") or 16))
        except (ValueError, TypeError, AttributeError):
            self._write(_json_response({"error": {"message": "bad request body"}}, "400 Bad Request"))
            return
        if server.record:
            server.received.append(body)
        words = _prompt_words(request)
        prompt_tokens = len(words)
        # a request may set its own delays, so one server can measure both ceiling and timing error
        ttft_ms = float(request.get("calibration_ttft_ms", server.ttft_ms))
        itl_ms = float(request.get("calibration_itl_ms", server.itl_ms))
        if ttft_ms <= 0 and itl_ms <= 0 and self.previous is None and server.simple:
            server.served += 1
            server.first_token_lateness_ns.append(time.perf_counter_ns() - arrived)
            self._write(server.whole_answer(max_tokens, prompt_tokens))
            return
        cached = server.cached_tokens(words)
        ttft_ms += server.prefill_ms_per_token * (prompt_tokens - cached)
        previous = self.previous
        self.previous = asyncio.ensure_future(self._paced(
            previous, max_tokens, prompt_tokens, arrived, ttft_ms, itl_ms, cached if server.prefix_cache else None))

    async def _paced(self, previous: asyncio.Task[None] | None, max_tokens: int, prompt_tokens: int,
                     arrived: int, ttft_ms: float, itl_ms: float, cached: int | None) -> None:
        if previous is not None:
            await previous
        server = self.server
        if server.slots is None:
            await self._stream(max_tokens, prompt_tokens, arrived, ttft_ms, itl_ms, cached)
        else:
            async with server.slots:  # a request queued for a slot starts its TTFT clock when it gets one
                server.in_service += 1
                server.peak_in_service = max(server.peak_in_service, server.in_service)
                try:
                    await self._stream(max_tokens, prompt_tokens, time.perf_counter_ns(), ttft_ms, itl_ms, cached)
                finally:
                    server.in_service -= 1
        if self.previous is asyncio.current_task():
            self.previous = None  # nothing queued behind us: the next request may take the fast path

    async def _stream(self, max_tokens: int, prompt_tokens: int, arrived: int, ttft_ms: float, itl_ms: float,
                      cached: int | None) -> None:
        server = self.server
        last_sent = 0
        parts = server.answer_parts(max_tokens, prompt_tokens, cached)
        self._write(STREAM_HEAD + _http_chunk(parts[0]))
        # the first token is due ttft after arrival; token k after the first is due k * itl after the first was
        # really sent. Absolute due times: lateness never accumulates, and a late first token does not make
        # the later gaps shorter (which would inflate a measured decode rate).
        due_ns = arrived + int(ttft_ms * 1e6)
        first_sent = 0
        for k, part in enumerate(parts[1:1 + max_tokens]):
            if k:
                due_ns = first_sent + int(k * itl_ms * 1e6)
            await _sleep_until(due_ns)
            sent = time.perf_counter_ns()
            self._write(_http_chunk(part))
            if k == 0:
                first_sent = sent
                server.first_token_lateness_ns.append(sent - arrived - int(ttft_ms * 1e6))
            else:
                server.itl_actual_ns.append(sent - last_sent)
            last_sent = sent
        self._write(_http_chunk(b"".join(parts[1 + max_tokens:])) + b"0\r\n\r\n")
        server.served += 1


class SpawnedCalibrationServer:
    """The server in a child process, so it does not share a core's time with the client being measured."""

    def __init__(self, *, ttft_ms: float = 0.0, itl_ms: float = 0.0, start_timeout_s: float = 20.0,
                 capacity: int | None = None, prefill_ms_per_token: float = 0.0, prefix_cache: bool = False) -> None:
        self.args = ["--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms),
                     "--prefill-ms-per-token", str(prefill_ms_per_token)]
        self.args += ["--capacity", str(capacity)] if capacity else []
        self.args += ["--prefix-cache"] if prefix_cache else []
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> SpawnedCalibrationServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlx_benchmarks.measure.calibration_server", *self.args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.start_timeout_s)
        line = self.process.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.__exit__(None, None, None)
            raise RuntimeError("the calibration server did not start")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


async def _serve(args: argparse.Namespace) -> None:
    server = CalibrationServer(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, reasoning_tokens=args.reasoning_tokens,
                               host=args.host, port=args.port, capacity=args.capacity,
                               prefill_ms_per_token=args.prefill_ms_per_token, prefix_cache=args.prefix_cache)
    port = await server.start()
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # the parent holds our stdin: when it goes away without stopping us, so do we
    stdin = sys.stdin.fileno()
    if stat.S_ISFIFO(os.fstat(stdin).st_mode):
        loop.add_reader(stdin, lambda: None if os.read(stdin, 4096) else stop.set())
    await stop.wait()
    await server.close()
    sys.stderr.write(json.dumps(server.stats()) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="loopback OpenAI-compatible server with known timing")
    parser.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "::1", "localhost"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--itl-ms", type=float, default=0.0)
    parser.add_argument("--reasoning-tokens", type=int, default=0)
    parser.add_argument("--capacity", type=int, default=None, help="requests served at once (default: no limit)")
    parser.add_argument("--prefill-ms-per-token", type=float, default=0.0)
    parser.add_argument("--prefix-cache", action="store_true", help="simulate a prompt prefix cache")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(_serve(args))
    except ImportError:
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

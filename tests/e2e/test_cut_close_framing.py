"""A stream cut by a server that frames its body with ``Connection: close`` (no Content-Length, no chunking:
how Python's http.server, a killed server and many proxies end a stream) is retried like a chunked one (#21).

The server is a TEST DOUBLE on Python's own ``http.server`` (HTTP/1.0 responses): each prompt's first answer
stops after two tokens, with no ``[DONE]`` and no ``finish_reason``, and the connection closes; the second is
whole."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_OK
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets import retry

MODEL = "close-framed-model"


def _event(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {"id": "x", "object": "chat.completion.chunk", "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class CloseFramedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends where the connection does
    attempts: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = json.dumps(request["messages"])
        with self.lock:
            self.attempts[key] += 1
            first = self.attempts[key] == 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(_event({"role": "assistant", "content": ""}))
        self.wfile.write(_event({"content": "The answer"}))
        if first:
            self.wfile.flush()
            return  # cut: no finish_reason, no [DONE]; the connection closes
        self.wfile.write(_event({"content": " is 3."}, finish="stop"))
        self.wfile.write(b"data: [DONE]\n\n")


@contextmanager
def close_framed_server() -> Iterator[ThreadingHTTPServer]:
    CloseFramedHandler.attempts = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), CloseFramedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_close_framed_cut_stream_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_BASE_S", 0.01)
    with close_framed_server() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        code = main(["run", "reasoning", "--limit", "2", "--target", url, "--store", str(tmp_path),
                     "--git-sha", "abcdef0", "--max-retries", "2"])
    assert code == EXIT_OK
    store = Store(tmp_path)
    (run_id,) = store.run_ids()
    envelope, samples = store.envelope(run_id), store.samples(run_id)
    assert envelope["errors"] == [] and samples and not any(s["error"] for s in samples)
    assert [s["retries"] for s in samples] == [1] * len(samples), "each prompt's cut first answer was retried"
    assert all(count == 2 for count in CloseFramedHandler.attempts.values())

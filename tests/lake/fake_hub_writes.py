"""Test double: a loopback hub that takes commits and answers the way the real one does under contention.

``FakeHubWriteServer`` serves one dataset repository from a folder (reads as ``fake_hub.FakeHubServer``)
and accepts ``HfApi.create_commit`` (the ``preupload`` and ``commit`` endpoints, small files inline as
base64). It is scripted to make concurrent publishers fight:

- 409 when another commit is being applied (each commit holds the repository ``hold_s`` seconds, and the
  first one holds it until a 409 and a 429 have both been answered, at most ``first_hold_s``, so a race
  of several publishers always meets both);
- 412 when the commit names a ``parentCommit`` that is no longer the head of ``main``;
- 429 for a commit attempt beyond ``per_window`` in any ``window_s`` seconds, with ``Retry-After`` saying
  when the window frees (in fractional seconds: the real hub sends whole ones).

Every answer is counted in ``statuses`` so a test can check the fight really happened.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from tests.lake.fake_hub import FakeHubServer


class FakeHubWriteServer(FakeHubServer):
    """One dataset repository in ``root`` that accepts commits, one at a time, rate-limited (reads, the
    address and start/stop are ``FakeHubServer``'s; its constructor is not called: the handler differs)."""

    def __init__(self, root: Path, *, repo: str, hold_s: float = 0.05, per_window: int = 4,
                 window_s: float = 0.5, first_hold_s: float = 0.0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.repo, self.reject, self.requests = root, repo, False, []
        self.hold_s, self.per_window, self.window_s, self.first_hold_s = hold_s, per_window, window_s, first_hold_s
        self._fought = threading.Event()  # a 409 and a 429 have both been answered
        self.head = hashlib.sha1(b"initial").hexdigest()
        self.commits: list[dict[str, Any]] = []  # each applied commit: message and paths
        self.statuses: Counter[int] = Counter()
        self._applying = threading.Lock()
        self._count = threading.Lock()
        self._recent: list[float] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = unquote(urlparse(self.path).path)
                api = f"/api/datasets/{double.repo}"
                if path == api or path.startswith(api + "/revision/"):
                    self._send(200, {"id": double.repo, "sha": double.head, "private": False})
                    return
                status, body, headers = double.answer(path)
                self._send(status, body, headers)

            def do_POST(self) -> None:
                path = unquote(urlparse(self.path).path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if path.startswith(f"/api/datasets/{double.repo}/preupload/"):
                    files = json.loads(body)["files"]
                    self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                               for f in files]})
                elif path.startswith(f"/api/datasets/{double.repo}/commit/"):
                    status, answer, headers = double.commit(body)
                    self._send(status, answer, headers)
                else:
                    self._send(404, {"error": "not in this test double"})

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _count_status(self, status: int) -> None:
        with self._count:
            self.statuses[status] += 1
            if self.statuses[409] and self.statuses[429]:
                self._fought.set()

    def commit(self, body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Apply one ndjson commit, or refuse it as the hub would."""
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        now = time.monotonic()
        with self._count:
            self._recent = [t for t in self._recent if now - t < self.window_s]
            limited = len(self._recent) >= self.per_window
            frees_in = (self._recent[0] + self.window_s - now) if limited and self._recent else self.window_s
            if not limited:
                self._recent.append(now)
        if limited:
            self._count_status(429)
            return 429, {"error": "You have exceeded the rate limit for repository commits."}, {
                "Retry-After": f"{max(0.01, frees_in):.2f}"}
        if not self._applying.acquire(blocking=False):
            self._count_status(409)
            return 409, {"error": "A commit is already in progress on this repository; retry later."}, {}
        try:
            parent = header.get("parentCommit")
            if parent and parent != self.head:
                self._count_status(412)
                return 412, {"error": "A commit has happened since. Please refresh and try again."}, {}
            if not self.commits and self.first_hold_s:
                self._fought.wait(timeout=self.first_hold_s)  # the others arrive meanwhile: 409, then 429
            time.sleep(self.hold_s)  # the window in which others get 409
            paths = []
            for item in lines:
                if item["key"] == "file":
                    target = self.root / item["value"]["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(base64.b64decode(item["value"]["content"]))
                    paths.append(item["value"]["path"])
            self.head = hashlib.sha1(f"{self.head}{len(self.commits)}".encode()).hexdigest()
            self.commits.append({"message": header["summary"], "paths": paths})
            self._count_status(200)
            return 200, {"commitUrl": f"{self.url}/datasets/{self.repo}/commit/{self.head}",
                         "commitOid": self.head}, {}
        finally:
            self._applying.release()

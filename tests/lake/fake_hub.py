"""Test doubles for the Hugging Face hub (no machine here reaches the real one).

- ``FakeHfApi``: an in-memory stand-in for ``HfApi`` with the two calls publishing makes.
- ``FakeHubServer``: a loopback HTTP endpoint (for ``HF_ENDPOINT``) that answers the repository tree
  listing, or, with ``reject=True``, answers 401 and echoes the Authorization header back, the way a
  careless proxy might, so tests can check the token never reaches our output.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeHfApi:
    """Records commits; ``list_repo_files`` returns what was committed (plus ``files`` given up front)."""

    files: list[str] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)

    def list_repo_files(self, repo_id: str, *, repo_type: str | None = None) -> list[str]:
        assert repo_type == "dataset"
        return list(self.files)

    def create_commit(self, repo_id: str, operations: Any, *, commit_message: str, repo_type: str | None = None) -> None:
        ops = list(operations)
        self.commits.append({"repo_id": repo_id, "operations": ops, "message": commit_message, "repo_type": repo_type})
        self.files += [op.path_in_repo for op in ops]


class FakeHubServer:
    """A loopback hub API: ``GET /api/datasets/ORG/NAME/tree/...`` lists ``files``."""

    def __init__(self, files: list[str], *, reject: bool = False) -> None:
        self.files = files
        self.reject = reject
        self.requests: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                double.requests.append(self.path)
                if double.reject:
                    body = json.dumps({"error": f"Invalid credentials in Authorization header: {self.headers.get('authorization')}"})
                    self._send(401, body)
                elif "/tree/" in self.path:
                    entries = [{"type": "file", "path": p, "oid": "0" * 40, "size": 1} for p in double.files]
                    self._send(200, json.dumps(entries))
                else:
                    self._send(404, json.dumps({"error": "not in this test double"}))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeHubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

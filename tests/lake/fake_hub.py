"""Test doubles for the Hugging Face hub (no machine here reaches the real one).

- ``FakeHfApi``: an in-memory stand-in for ``HfApi`` with the two calls publishing makes.
- ``FakeHubServer``: a loopback HTTP endpoint (for ``HF_ENDPOINT``) serving one dataset repository from
  a folder, enough for ``HfApi.list_repo_files`` and ``HfFileSystem`` reads; with ``reject=True`` it
  answers 401 and echoes the Authorization header back, the way a careless proxy might, so tests can
  check the token never reaches our output.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

COMMIT = "c0ffee" * 6 + "c0ff"  # the one revision the fake hub serves


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
    """A loopback hub API serving one dataset repository from a local folder ``root``.

    Answers what ``HfApi.list_repo_files`` and ``HfFileSystem`` ask for here: repository info, the
    recursive tree listing and file downloads (with byte ranges). Every request path is recorded.
    """

    def __init__(self, root: Path, *, repo: str, reject: bool = False) -> None:
        self.root = root
        self.repo = repo
        self.reject = reject
        self.requests: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                double.requests.append(self.path)
                if double.reject:
                    echoed = self.headers.get("authorization")
                    self._send(401, json.dumps({"error": f"Invalid credentials in Authorization header: {echoed}"}))
                    return
                status, body, headers = double.answer(unquote(urlparse(self.path).path))
                self._send(status, body, headers)

            def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
                data = body.encode() if isinstance(body, str) else body
                start, stop = 0, len(data)
                ranged = self.headers.get("range", "")
                if status == 200 and ranged.startswith("bytes="):
                    first, _, last = ranged[len("bytes="):].partition("-")
                    start, stop = int(first), min(len(data), int(last) + 1 if last else len(data))
                    status = 206
                    headers = {**(headers or {}), "Content-Range": f"bytes {start}-{stop - 1}/{len(data)}"}
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(stop - start))
                self.end_headers()
                self.wfile.write(data[start:stop])

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, str | bytes, dict[str, str]]:
        api = f"/api/datasets/{self.repo}"
        missing = (404, json.dumps({"error": "not found in this test double"}), {"X-Error-Code": "EntryNotFound"})
        if path == api or path.startswith(api + "/revision/"):
            return 200, json.dumps({"id": self.repo, "sha": COMMIT, "private": False}), {}
        if path.startswith(api + "/tree/"):
            folder = self.root / path[len(api + "/tree/"):].partition("/")[2]
            if not folder.is_dir():
                return missing
            entries = [
                {"type": "directory", "path": str(p.relative_to(self.root)), "oid": COMMIT, "size": 0}
                if p.is_dir()
                else {"type": "file", "path": str(p.relative_to(self.root)), "oid": COMMIT, "size": p.stat().st_size}
                for p in sorted(folder.rglob("*"))
            ]
            return 200, json.dumps(entries), {}
        download = f"/datasets/{self.repo}/resolve/"
        if path.startswith(download):
            file = self.root / path[len(download):].partition("/")[2]
            if not file.is_file():
                return missing
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{COMMIT}"', "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            return 200, file.read_bytes(), headers
        return missing

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


def materialize(api: FakeHfApi, root: Path) -> None:
    """Write the files of every commit made through ``api`` under ``root`` (what the hub would hold)."""
    for commit in api.commits:
        for op in commit["operations"]:
            target = root / op.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(op.path_or_fileobj).read_bytes())

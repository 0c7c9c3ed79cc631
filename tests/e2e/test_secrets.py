"""Credentials in a target URL reach the server and nothing else: not the journal, the envelope, the shard's
Parquet files or the console; the in-progress files are private (0600 in a 0700 folder)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_USAGE
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets.credentials import redact_headers, redact_text, strip_credentials
from tests.doubles.scripted_openai_server import Answer, HTTPFail, ScriptedOpenAIServer

PASSWORD = "s3cr3t-pw-4711"
QUERY_KEY = "k3y-value-0815"
FLAGS = ["reasoning", "--tasks", "gsm8k", "--limit", "2", "--git-sha", "abcdef0"]


def secret_url(server: ScriptedOpenAIServer) -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{server.port}/v1?api_key={QUERY_KEY}"


def bytes_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_credentials_never_reach_the_disk_or_the_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    failing = HTTPFail(500, '{"error": {"message": "down for maintenance"}}')
    with ScriptedOpenAIServer(script=[failing]).in_thread() as server:
        url = secret_url(server)
        assert main(["run", *FLAGS, "--target", url, "--store", str(store)]) == EXIT_NO_MEASUREMENT
        sent = server.headers[0]["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(), "the server still gets them"
    (journal,) = (store / "inprogress").iterdir()
    config = (journal / "config.json").read_text()
    assert "http://***@127.0.0.1" in config and "api_key=***" in config
    assert PASSWORD.encode() not in bytes_under(store) and QUERY_KEY.encode() not in bytes_under(store)
    assert stat.S_IMODE((store / "inprogress").stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in journal.iterdir()} == {0o600}
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err and QUERY_KEY not in out + err

    # resume: the credentials were never written, so they must be given again, and only the run's own URL
    assert main(["run", "--resume", journal.name, "--store", str(store)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "give the URL again" in err and PASSWORD not in err
    with ScriptedOpenAIServer(script=[Answer(content=["The answer is 3."])], port=server.port).in_thread() as back:
        other = f"http://alice:{PASSWORD}@127.0.0.1:{back.port + 1}/v1?api_key={QUERY_KEY}"
        assert main(["run", "--resume", journal.name, "--target", other, "--store", str(store)]) == EXIT_USAGE
        assert "is not the target run" in capsys.readouterr().err
        assert main(["run", "--resume", journal.name, "--target", secret_url(back), "--store", str(store)]) == 0
        assert all(h["Authorization"].startswith("Basic ") for h in back.headers)
    assert len(Store(store).run_ids()) == 1
    assert PASSWORD.encode() not in bytes_under(store) and QUERY_KEY.encode() not in bytes_under(store)
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err and QUERY_KEY not in out + err


@pytest.mark.parametrize(("text", "expected"), [
    ("http://user:pw@host:8000/v1", "http://***@host:8000/v1"),
    ("cannot reach https://tok@h/v1/models now", "cannot reach https://***@h/v1/models now"),
    ("http://h/v1?api_key=abc&api-version=2", "http://h/v1?api_key=***&api-version=2"),
    ("http://h/v1?access_token=abc&x=1", "http://h/v1?access_token=***&x=1"),
    ("Authorization: Bearer sk-0123456789abcdef", "Authorization: Bearer ***"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
])
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_headers_and_strip() -> None:
    assert redact_headers({"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "text/event-stream"}) == {
        "Authorization": "***", "X-Api-Key": "***", "Accept": "text/event-stream"}
    assert strip_credentials("http://u:p@h:1/v1?token=t&a=1") == "http://h:1/v1?a=1"

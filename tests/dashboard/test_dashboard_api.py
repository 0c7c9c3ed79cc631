"""The dashboard's HTTP side: JSON API, security headers, Host check, static files, the CLI command."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import build_parser, main
from mlx_benchmarks.dashboard import BackgroundServer
from mlx_benchmarks.report.assets import plotly_js
from tests.dashboard.store_builder import MODELS, XSS_MODEL, BuiltStore


def get(server: BackgroundServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(server: BackgroundServer, path: str, **params: str) -> Any:
    status, _, body = get(server, path + ("?" + urllib.parse.urlencode(params) if params else ""))
    assert status == 200, body
    return json.loads(body)


def test_leaderboard_and_trend_api(server: BackgroundServer, built: BuiltStore) -> None:
    boards = get_json(server, "/api/leaderboard", suite="throughput")
    assert [b["suite"] for b in boards] == ["throughput"]
    assert {r["model"]: r["run_id"] for r in boards[0]["rows"]} == {m: built.latest(m, "throughput").run_id for m in MODELS}
    series = get_json(server, "/api/trend", suite="throughput", name="decode_tps", metric="throughput")["series"]
    assert {s["model"]: len(s["points"]) for s in series} == {m: len(built.series(m, "throughput")) for m in MODELS}


def test_run_samples_and_compare_api(server: BackgroundServer, built: BuiltStore) -> None:
    run = built.latest(XSS_MODEL, "reasoning")
    quoted = urllib.parse.quote(run.run_id)
    detail = get_json(server, f"/api/runs/{quoted}")
    assert detail["envelope"]["model"] == XSS_MODEL
    page = get_json(server, f"/api/runs/{quoted}/samples", limit="3", offset="1")
    assert [s["key"] for s in page["samples"]] == [s["key"] for s in run.samples[1:4]]
    older = built.series(XSS_MODEL, "reasoning")[0]
    data = get_json(server, "/api/compare", a=older.run_id, b=run.run_id)
    assert {row["name"] for row in data["rows"]} == {r["name"] for r in run.envelope["results"]}


def test_errors_are_json_one_liners(server: BackgroundServer) -> None:
    status, _, body = get(server, "/api/runs/run-does-not-exist")
    assert status == 404 and "no stored run matches" in json.loads(body)["error"]
    status, _, body = get(server, "/api/runs?limit=lots")
    assert status == 400 and "limit" in json.loads(body)["error"]
    status, _, body = get(server, "/api/trend?suite=throughput")
    assert status == 400 and "name" in json.loads(body)["error"]


def test_security_headers_and_host_check(server: BackgroundServer) -> None:
    status, headers, _ = get(server, "/")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert headers["X-Content-Type-Options"] == "nosniff"
    # a page on another name that resolves here (DNS rebinding) gets nothing
    status, _, _ = get(server, "/api/catalog", headers={"Host": f"attacker.example:{server.port}"})
    assert status == 421


def test_static_files_come_from_the_package(server: BackgroundServer) -> None:
    status, headers, body = get(server, "/static/plotly.min.js")
    assert status == 200 and body.decode() == plotly_js() and headers["Content-Type"].startswith("text/javascript")
    assert get(server, "/static/app.js")[0] == 200
    assert get(server, "/static/index.py")[0] == 404
    assert get(server, "/static/%2e%2e%2fserver.py")[0] == 404
    page = get(server, "/")[2].decode()
    assert "http://" not in page and "https://" not in page  # nothing from a CDN


def test_dashboard_command_defaults_to_loopback() -> None:
    args = build_parser().parse_args(["dashboard", "--no-open"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)


def test_dashboard_command_one_line_errors(built: BuiltStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["dashboard", "--store", str(built.root), "--port", str(port), "--no-open"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pick another --port" in err
    code = main(["dashboard", "--store", str(tmp_path / "nothing-here"), "--no-open"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no results store" in err


def test_dashboard_command_serves_until_stopped(built: BuiltStore) -> None:
    command = [sys.executable, "-m", "mlx_benchmarks.cli.main", "dashboard", "--store", str(built.root), "--port", "0", "--no-open"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = ""
        while "dashboard on" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
        url = line.split("dashboard on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/catalog", timeout=30) as response:
            assert json.loads(response.read())["n_runs"] == len(built.runs)
    finally:
        process.terminate()
        process.communicate(timeout=30)

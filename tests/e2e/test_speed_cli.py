"""Whole-CLI speed runs on loopback: the calibration server (known timing) and the scripted test double."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.store import Store
from tests.doubles.scripted_openai_server import Answer, ScriptedOpenAIServer, ServerGone

QUICK = ["--git-sha", "abcdef0", "--no-client-check"]


def stored(store: Path) -> list[dict[str, Any]]:
    s = Store(store)
    return [s.envelope(run_id) for run_id in s.run_ids()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_throughput_run_stores_a_valid_envelope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SpawnedCalibrationServer(ttft_ms=10, itl_ms=2) as server:
        code = main(["run", "throughput", "--target", server.url, "--prompt-lengths", "16,32", "--gen-tokens", "6",
                     "--trials", "2", "--warmup", "1", "--concurrency", "1,2", "--store", str(tmp_path), *QUICK])
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    assert envelope["suite"] == "throughput" and envelope["model"] == "calibration-model"
    names = [r["name"] for r in envelope["results"]]
    assert names[:2] == ["tok_per_sec_16", "tok_per_sec_32"] and "concurrency_2_ttft_p99_ms" in names
    cell = envelope["results"][0]
    assert cell["value"] > 0 and cell["decode_tokens_per_second"] == cell["value"]  # accuracy: tests/measure
    assert len(cell["raw"]["trials"]) == 2 and cell["peak_rss_mb"] > 0
    assert [m["phase"] for m in envelope["memory_snapshots"]] == ["before", "loaded", "peak", "after"]
    assert envelope["errors"] == [] and envelope["gen_kwargs"] == {"max_gen_toks": 6, "temperature": 0.0}
    samples = Store(tmp_path).samples(Store(tmp_path).run_ids()[0])
    assert {s["result"] for s in samples} >= {"tok_per_sec_16", "concurrency_2"}
    printed = capsys.readouterr().out.splitlines()  # the pp x tg grid and one row per load level
    assert [line.split()[:2] for line in printed if line.strip()[:2].isdigit()] == [["16", "6"], ["32", "6"]]
    assert [line.split()[:2] for line in printed if line.startswith("conc ")] == [["conc", "1"], ["conc", "2"]]


def test_ttft_run_with_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SpawnedCalibrationServer(ttft_ms=30, itl_ms=1) as server:
        code = main(["run", "ttft", "--target", server.url, "--prompt-lengths", "8", "--trials", "3",
                     "--store", str(tmp_path), "--json", *QUICK])
    assert code == 0
    out = capsys.readouterr().out
    envelope = json.loads(out)  # progress and the run key go to stderr with --json
    validate(envelope)
    by_name = {r["name"]: r for r in envelope["results"]}
    assert set(by_name) == {"ttft_ms_8_cold", "ttft_ms_8_p50", "ttft_ms_8_p90", "ttft_ms_8_p99"}
    assert by_name["ttft_ms_8_p50"]["value"] >= 30, "never earlier than the server sent it"
    assert stored(tmp_path) == [envelope]


def test_unreachable_target_exits_2_fast_and_stores_nothing(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    started = time.monotonic()
    code = main(["run", "throughput", "--target", f"http://127.0.0.1:{port}/v1", "--store", str(tmp_path), *QUICK])
    assert code == 2 and time.monotonic() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"127.0.0.1:{port}" in err[0]
    assert stored(tmp_path) == []


def test_skip_unavailable_stores_a_skipped_envelope(tmp_path: Path) -> None:
    port = free_port()
    code = main(["run", "ttft", "--target", f"http://127.0.0.1:{port}/v1", "--skip-unavailable",
                 "--store", str(tmp_path), *QUICK])
    assert code == 0
    (envelope,) = stored(tmp_path)
    assert envelope["skipped"] is True and envelope["results"] == []
    assert f"127.0.0.1:{port}" in envelope["errors"][0]


@pytest.mark.parametrize("flags", [["--prompt-lengths", "0,abc"], ["--trials", "x"], ["--concurrency", "0"],
                                   ["--gen-tokens", "1"]])
def test_invalid_flags_are_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   flags: list[str]) -> None:
    # the target is unreachable: an error about the flag proves nothing tried to reach it first
    code = main(["run", "throughput", "--target", f"http://127.0.0.1:{free_port()}/v1", *flags,
                 "--store", str(tmp_path), *QUICK])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flags[0] in err[0]
    assert stored(tmp_path) == []


def test_server_dying_mid_run_leaves_a_partial_envelope(tmp_path: Path) -> None:
    def script(index: int, body: dict[str, Any]) -> Any:
        return ServerGone() if index == 5 else Answer(content=4, delay_s=0.002)

    with ScriptedOpenAIServer(script=script).in_thread() as server:
        code = main(["run", "throughput", "--target", server.url, "--prompt-lengths", "8,16", "--gen-tokens", "4",
                     "--trials", "3", "--warmup", "0", "--store", str(tmp_path), *QUICK])
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    # 2 calibration probes, then 3 answered trials of the first cell; the rest meet a dead server
    assert [r["name"] for r in envelope["results"]] == ["tok_per_sec_8"]
    errors = envelope["errors"]
    assert errors[0].startswith("2 of 6 measured requests failed: cannot reach 127.0.0.1:"), "refused after it died"
    assert errors[1].startswith("1 of 6 measured requests failed: ") and "closed the stream mid-answer" in errors[1]
    assert any("tok_per_sec_16: no trial could be timed" in e for e in envelope["errors"])


def test_calibrate_reports_timing_error_and_ceiling(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["calibrate", "--ttft-ms", "20", "--itl-ms", "2", "--concurrency", "1,8", "--requests", "200",
                 "--timing-requests", "10", "--tokens", "8", "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    timing = figures["timing"]
    assert timing["failed"] == 0 and timing["ttft_error_ms"]["p50"] >= 0
    assert [row["concurrency"] for row in figures["ceiling"]] == [1, 8]
    assert all(row["requests_per_s"] > 50 and row["failed"] == 0 for row in figures["ceiling"])
    assert main(["calibrate", "--concurrency", "0"]) == 2


def test_calibration_server_subprocess_exits_when_its_parent_pipe_closes() -> None:
    process = subprocess.Popen([sys.executable, "-m", "mlx_benchmarks.measure.calibration_server"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline().startswith(b"PORT ")
    process.stdin.close()
    assert process.wait(timeout=10) == 0
    process.stdout.close()


@pytest.mark.mlx
def test_cross_check_against_a_real_mlx_lm_servers_own_log(tmp_path: Path) -> None:
    """Through a running mlx_lm.server, our decode tok/s is within 10% of what the server's own log says.

    mlx_lm.server puts no speed in its responses; at --log-level DEBUG it logs each generated token with its
    own clock, and ``--server-log`` pairs those records with our requests (measure.server_log).
    """
    pytest.importorskip("mlx_lm")
    from mlx_benchmarks.targets.embedded import ensure_embedded_model
    from mlx_benchmarks.targets.managed import free_port as managed_free_port
    from mlx_benchmarks.targets.mlx_blas import subprocess_env

    model_path = str(ensure_embedded_model())
    port = managed_free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "mlx_lm.server", "--model", model_path, "--host",
                                   "127.0.0.1", "--port", str(port), "--log-level", "DEBUG"],
                                  stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **subprocess_env()})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        code = main(["run", "throughput", "--target", f"http://127.0.0.1:{port}/v1", "--model", model_path,
                     "--prompt-lengths", "64", "--gen-tokens", "32", "--trials", "2", "--store", str(tmp_path),
                     "--server-pid", str(server.pid), "--server-log", str(log_path), *QUICK])
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    (cell,) = envelope["results"]
    tags = cell["tags"]
    assert cell["name"] == "tok_per_sec_64" and tags["token_count_source"] == "usage"
    assert tags["output_tokens"] == "32", "mlx_lm.server ignores ignore_eos, but 32 tokens fit easily"
    assert 60 <= int(tags["prompt_tokens"]) <= 68, "calibrated from usage.prompt_tokens"
    assert cell["peak_rss_mb"] > 100, "the server's memory, through --server-pid"
    assert tags["server_log"] == "mlx_lm.server" and tags["server_log_requests"] == "2", tags
    server_tps = float(tags["server_log_decode_tok_per_sec"])
    assert abs(cell["value"] - server_tps) <= 0.10 * server_tps, (cell["value"], server_tps)
    assert tags["server_log_within_10pct"] == "true"
    # our TTFT also covers the HTTP round trip and the request's parsing, so it can only be the longer one
    assert float(tags["server_log_ttft_ms"]) <= cell["first_token_latency_ms"]


@pytest.mark.mlx
def test_the_readme_main_command_on_the_embedded_model(tmp_path: Path) -> None:
    """``mlx-bench run throughput`` with no target: the embedded SmolLM2 in process, a small grid."""
    pytest.importorskip("mlx_lm")
    code = main(["run", "throughput", "--prompt-lengths", "32,64", "--gen-tokens", "24", "--trials", "2",
                 "--store", str(tmp_path), *QUICK])
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    assert envelope["model"] == "SmolLM2-135M-Instruct" and envelope["quantization"]
    assert envelope["model_revision"].startswith("sha256:")
    assert [m["phase"] for m in envelope["memory_snapshots"]] == ["before", "loaded", "peak", "after"]
    assert [r["name"] for r in envelope["results"]] == ["tok_per_sec_32", "tok_per_sec_64"]
    for cell in envelope["results"]:
        for field in ("prompt_tokens_per_second", "decode_tokens_per_second", "total_tokens_per_second",
                      "first_token_latency_ms", "peak_rss_mb", "duration_seconds"):
            assert cell[field] > 0, field
        tags = cell["tags"]
        assert tags["output_tokens"] == "24", "EOS is masked in process: always the full count"
        assert tags["prompt_tokens"] == tags["prompt_tokens_requested"], "the model's tokenizer makes exact prompts"
        assert tags["token_count_source"] == "usage" and tags["target_kind"] == "embedded"
        # mlx-lm's own generation_tps ((n + 1) / its own window) differs from ours by definition at 24 tokens:
        # a few percent, never a factor (the role chunk as a token, prefill in the window would be)
        assert abs(float(tags["server_decode_diff_pct"])) < 20, tags["server_decode_diff_pct"]

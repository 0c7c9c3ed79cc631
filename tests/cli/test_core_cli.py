"""The core commands end to end: validate, import, runs, show, system, and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.core.helpers import example_envelope, write_json

from mlx_benchmarks.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a child process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "mlx_benchmarks.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_validate_exit_codes_and_every_error_listed(tmp_path: Path) -> None:
    good = write_json(tmp_path / "good.json", example_envelope())
    broken = example_envelope(timestamp="2026-99-01", trigger="cron")
    broken["results"][0]["unit"] = 5
    bad = write_json(tmp_path / "bad.json", broken)
    not_json = tmp_path / "nope.json"
    not_json.write_text("{oops")

    ok = cli("validate", str(good))
    assert ok.returncode == 0 and "valid" in ok.stdout
    invalid = cli("validate", str(good), str(bad))
    assert invalid.returncode == 3
    lines = invalid.stderr.strip().splitlines()
    assert lines == sorted(lines) or len(lines) == 3
    assert {line.split(": ")[1] for line in lines} == {"$.timestamp", "$.trigger", "$.results[0].unit"}
    assert all(line.startswith(f"{bad}: $.") for line in lines)
    unreadable = cli("validate", str(bad), str(not_json), str(tmp_path / "missing.json"))
    assert unreadable.returncode == 2
    assert "Traceback" not in unreadable.stderr and "not JSON" in unreadable.stderr and "cannot read" in unreadable.stderr


def test_validate_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_json(tmp_path / "bad.json", example_envelope(git_sha="zz"))
    assert main(["validate", "--json", str(bad)]) == 3
    outcome = json.loads(capsys.readouterr().out)
    assert outcome[0]["status"] == "invalid" and len(outcome[0]["errors"]) == 2


def test_import_lm_eval_and_vllm_then_list_them(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    lm = cli("import", "--kind", "lm-eval", str(FIXTURES / "lm_eval_results.json"), "--suite", "reasoning", "--store", store)
    assert lm.returncode == 0, lm.stderr
    vl = cli("import", "--kind", "vllm", str(FIXTURES / "vllm_bench_serve.json"), "--suite", "throughput",
             "--store", store, "--model", "llama-1b")
    assert vl.returncode == 0, vl.stderr
    runs = cli("runs", "--json", "--store", store)
    listed = json.loads(runs.stdout)
    assert {(r["suite"], r["model"]) for r in listed} == {("reasoning", "mlx-community/Qwen3.5-9B-MLX-4bit"),
                                                         ("throughput", "llama-1b")}
    assert all({"id", "timestamp", "suite", "model"} <= set(r) for r in listed)
    # re-importing is a no-op
    again = cli("import", "--kind", "lm-eval", str(FIXTURES / "lm_eval_results.json"), "--suite", "reasoning", "--store", store)
    assert "already stored" in again.stdout
    assert len(json.loads(cli("runs", "--json", "--store", store).stdout)) == 2
    only = json.loads(cli("runs", "--json", "--store", store, "--suite", "throughput").stdout)
    assert [r["model"] for r in only] == ["llama-1b"]
    shown = cli("show", only[0]["id"][:30], "--json", "--store", store)
    assert json.loads(shown.stdout)["model"] == "llama-1b"
    table = cli("show", only[0]["id"], "--store", store)
    assert "ttft_p99" in table.stdout


def test_bad_input_is_one_line_with_exit_code_and_nothing_stored(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cases = [
        (["import", "--kind", "lm-eval", str(FIXTURES / "vllm_bench_serve.json"), "--suite", "reasoning"], 2, "not a lm-eval results file"),
        (["import", "--kind", "lm-eval", str(FIXTURES / "lm_eval_results.json"), "--suite", "nonsense"], 2, "unknown suite"),
        (["import", "--kind", "vllm", str(tmp_path / "missing.json"), "--suite", "throughput"], 2, "no such file"),
        (["run", "no-such-suite"], 2, "unknown suite"),
        (["show", "run-nothing", ], 2, "no stored run"),
        (["runs", "--since", "last tuesday"], 2, "--since"),
    ]
    for args, code, text in cases:
        result = cli(*args, "--store", str(store))
        assert result.returncode == code, (args, result.stderr)
        assert text in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (store / "runs").exists() or not any((store / "runs").iterdir())


def test_unwritable_store(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    result = cli("import", "--kind", "llama-bench", str(FIXTURES / "llama_bench.json"), "--suite", "throughput",
                 "--store", str(blocker / "store"))
    assert result.returncode == 2 and "not writable" in result.stderr and "Traceback" not in result.stderr


def test_system_json_and_git_sha_outside_a_checkout(tmp_path: Path) -> None:
    result = cli("system", "--json")
    data = json.loads(result.stdout)
    assert data["system"]["memory_gb"] >= 1 and len(data["git_sha"]) == 40
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path.parent), "MLX_BENCH_GIT_SHA": "0123abc"}
    moved = subprocess.run([sys.executable, "-m", "mlx_benchmarks.cli.main", "system", "--json"], cwd=tmp_path,
                           capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert json.loads(moved.stdout)["git_sha"] == "0123abc"


def test_pr_trigger_from_github_environment(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/77/merge"}
    cli("import", "--kind", "llama-bench", str(FIXTURES / "llama_bench.json"), "--suite", "throughput", "--store", store, env=env)
    run_id = json.loads(cli("runs", "--json", "--store", store).stdout)[0]["id"]
    envelope = json.loads(cli("show", run_id, "--json", "--store", store).stdout)
    assert (envelope["trigger"], envelope["pr_number"]) == ("pr", 77)

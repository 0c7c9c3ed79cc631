"""``mlx-bench run capability-comparison``: named suites on several targets, each suite's flags passed through."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.doubles.scripted_tool_server import ScriptedToolServer

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.store import Store

SHA = ["--git-sha", "abcdef0"]


def stored_suites(store: Path) -> Counter[str]:
    s = Store(store)
    return Counter(s.envelope(run_id)["suite"] for run_id in s.run_ids())


def test_quality_suites_on_two_targets_with_limit_passed_to_each(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedToolServer().in_thread() as good, ScriptedToolServer().in_thread() as bad:
        code = main(["run", "capability-comparison", "--target", good.url("gold"), "--target", bad.url("absent"),
                     "--suites", "tool-calling,framework-eval", "--limit", "1", "--frameworks", "baseline",
                     "--store", str(tmp_path), "--json", *SHA])
    assert code == 0
    documents = json.loads(capsys.readouterr().out)
    assert [(d["suite"], d["error"]) for d in documents] == [("tool-calling", None)] * 2 + [("framework-eval", None)] * 2
    assert stored_suites(tmp_path) == {"tool-calling": 2, "framework-eval": 2, "capability-comparison": 4}
    for document in documents:
        assert {r["tags"]["n_limit"] for r in document["envelope"]["results"] if "n_limit" in r["tags"]} == {"1"}
        twin = Store(tmp_path).envelope(document["comparison_run_id"])
        assert twin["suite"] == "capability-comparison"
        assert {r["tags"]["underlying_suite"] for r in twin["results"]} == {document["suite"]}
    agents = [d["envelope"]["results"][0] for d in documents if d["suite"] == "framework-eval"]
    assert [(r["metric"], r["tags"]["n_samples"]) for r in agents] == [("success_rate", "1")] * 2
    assert agents[0]["value"] == 1.0 and agents[1]["value"] == 0.0  # the gold target solves it, the other not


def test_speed_suites_print_one_side_by_side_table_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SpawnedCalibrationServer(ttft_ms=10, itl_ms=5) as server:  # tokens 5 ms apart: each its own read
        code = main(["run", "capability-comparison", "--target", server.url, "--target", server.url,
                     "--suites", "throughput,ttft", "--prompt-lengths", "16", "--gen-tokens", "8", "--trials", "2",
                     "--warmup", "0", "--no-client-check", "--store", str(tmp_path), *SHA])
    assert code == 0
    out = capsys.readouterr().out
    assert "capability-comparison · throughput" in out and "capability-comparison · ttft" in out
    assert stored_suites(tmp_path) == {"throughput": 2, "ttft": 2, "capability-comparison": 4}


@pytest.mark.parametrize(("flags", "message"), [
    (["--suites", "reasoning", "--prompt-lengths", "64"], "--prompt-lengths: none of the suites reasoning takes"),
    (["--suites", "reasoning,nonesuch"], "--suites: 'nonesuch' is not a suite to compare"),
    (["--suites", "capability-comparison"], "--suites: 'capability-comparison' is not a suite to compare"),
    (["--suites", "ttft", "stray"], "unexpected argument 'stray'"),
    (["--suites", "ttft", "--resume", "KEY"], "capability-comparison has no --resume"),
    (["--suites", "ttft,throughput", "--trials", "0"], "--trials"),
])
def test_bad_flags_are_one_line_exit_2_and_nothing_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        flags: list[str], message: str) -> None:
    code = main(["run", "capability-comparison", "--target", "http://127.0.0.1:9/v1", *flags,
                 "--store", str(tmp_path), *SHA])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_run_without_a_suite_names_capability_comparison_among_the_choices(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--store", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "capability-comparison" in line and "throughput" in line

"""Capability comparison on two scripted tool servers: per-target envelopes, twins, and the table."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from mlx_benchmarks.runner.execute import RunRequest
from mlx_benchmarks.runner.multi import (
    COMPARISON_SUITE,
    interval,
    is_remote,
    labels_for,
    run_many,
    side_by_side,
    wilson,
)
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets.registry import TargetSpec
from tests.doubles.scripted_tool_server import ScriptedToolServer


def test_wilson_and_intervals() -> None:
    low, high = wilson(0.5, 100)
    assert 0.40 < low < 0.41 and 0.59 < high < 0.60
    assert wilson(0.0, 10)[0] == 0.0 and abs(wilson(1.0, 10)[1] - 1.0) < 1e-9
    assert interval({"value": 0.5, "unit": "ratio", "tags": {"n_samples": "100"}}) == wilson(0.5, 100)
    normal = interval({"value": 3.0, "unit": "steps", "tags": {"stderr": "0.5"}})
    assert normal is not None and abs(normal[0] - (3.0 - 1.96 * 0.5)) < 0.01
    assert interval({"value": 3.0, "unit": "steps"}) is None


def test_locality_and_labels() -> None:
    remote = RunRequest(suite="tool-calling", spec=TargetSpec(target="https://api.example.com/v1"))
    local = RunRequest(suite="tool-calling", spec=TargetSpec(target=None))
    served = RunRequest(suite="tool-calling", spec=TargetSpec(target="http://x/v1", serve="mlx"))
    assert is_remote(remote) and not is_remote(local) and not is_remote(served)
    assert labels_for([remote, remote]) == ["https://api.example.com/v1", "https://api.example.com/v1 #2"]
    assert labels_for([remote, local], ["cloud", "laptop"]) == ["cloud", "laptop"]


def test_two_targets_side_by_side(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    with ScriptedToolServer().in_thread() as good, ScriptedToolServer().in_thread() as bad:
        options = {"tasks": "simple,irrelevance", "limit": 4, "concurrency": 2}
        requests = [RunRequest(suite="tool-calling", spec=TargetSpec(target=url, timeout_s=30), options=options,
                               git_sha="a" * 40) for url in (good.url("gold"), bad.url("wrong"))]
        code = run_many(store, requests, console)
    assert code == 0
    envelopes = [store.envelope(run_id) for run_id in store.run_ids()]
    assert sorted(e["suite"] for e in envelopes) == [COMPARISON_SUITE] * 2 + ["tool-calling"] * 2
    twins = [e for e in envelopes if e["suite"] == COMPARISON_SUITE]
    assert {r["tags"]["underlying_suite"] for e in twins for r in e["results"]} == {"tool-calling"}
    assert {r["tags"]["target"] for e in twins for r in e["results"]} == {good.url("gold"), bad.url("wrong")}
    assert len({r["tags"]["comparison"] for e in twins for r in e["results"]}) == 1
    by_target = {e["results"][0]["tags"]["target"]: e for e in twins}
    assert next(r for r in by_target[good.url("gold")]["results"] if r["name"] == "simple")["value"] == 1.0
    assert next(r for r in by_target[bad.url("wrong")]["results"] if r["name"] == "simple")["value"] == 0.0
    text = out.getvalue()
    assert "capability-comparison · tool-calling" in text
    assert "1 [0.51, 1]" in text and "0 [0, 0.49]" in text  # Wilson intervals for 4 of 4 and 0 of 4
    assert "peak RSS" in text and text.count("stored run-") == 2


def test_a_dead_target_does_not_lose_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    console = Console(file=io.StringIO(), width=200)
    with ScriptedToolServer().in_thread() as server:
        requests = [RunRequest(suite="tool-calling", spec=TargetSpec(target=url, timeout_s=10),
                               options={"tasks": "simple", "limit": 2}, git_sha="b" * 40)
                    for url in (server.url("gold"), "http://127.0.0.1:9/v1")]
        code = run_many(store, requests, console)
    assert code == 2  # TargetUnavailable's exit code
    assert sorted(store.envelope(r)["suite"] for r in store.run_ids()) == [COMPARISON_SUITE, "tool-calling"]
    table = Console(file=io.StringIO(), width=200)
    table.print(side_by_side([]))

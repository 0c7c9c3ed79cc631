"""``framework-eval --limit N``: the first N tasks in the suite's fixed order, whatever order --tasks names them in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.doubles.scripted_tool_server import ScriptedToolServer

from mlx_benchmarks.agents.tasks import TASKS
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.store import Store

SHA = ["--git-sha", "abcdef0"]


def run(tmp_path: Path, *flags: str) -> tuple[dict[str, Any], list[str]]:
    with ScriptedToolServer().in_thread() as server:
        code = main(["run", "framework-eval", "--target", server.url("gold"), "--frameworks", "baseline",
                     "--store", str(tmp_path), *SHA, *flags])
    assert code == 0
    store = Store(tmp_path)
    (run_id,) = store.run_ids()
    return store.envelope(run_id), [str(s["id"]) for s in store.samples(run_id)]


def test_limit_takes_the_first_tasks_in_the_fixed_order(tmp_path: Path) -> None:
    chosen = [TASKS[5].id, TASKS[1].id, TASKS[3].id]  # named out of order
    envelope, ran = run(tmp_path, "--tasks", ",".join(chosen), "--limit", "2")
    assert ran == [TASKS[1].id, TASKS[3].id]
    headline = envelope["results"][0]
    assert headline["metric"] == "success_rate" and headline["tags"]["n_samples"] == "2"
    assert headline["tags"]["n_limit"] == "2"


def test_limit_without_tasks_counts_from_the_first_task(tmp_path: Path) -> None:
    _, ran = run(tmp_path, "--limit", "1")
    assert ran == [TASKS[0].id]


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_limit_below_one_is_refused_before_any_work(tmp_path: Path, value: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "framework-eval", "--target", "http://127.0.0.1:9/v1", "--limit", value,
                 "--store", str(tmp_path), *SHA])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["mlx-bench: error: --limit must be at least 1"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

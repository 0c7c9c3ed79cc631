"""A sweep names its parameters (#20): --dry-run printed raw Python dicts and its tables did not say which
matrix value each one was measured at."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.runner.execute import RunRequest
from mlx_benchmarks.runner.multi import TargetRun, side_by_side
from mlx_benchmarks.targets.registry import TargetSpec
from mlx_benchmarks.views.sweep_plan import matrix_text, options_text, varying_options

REPO = Path(__file__).resolve().parents[2]


def test_options_read_as_key_value_pairs_and_the_matrix_as_what_differs() -> None:
    runs = [{"tasks": ["simple", "multiple"], "max_tokens": 128, "text_calls": True, "limit": None},
            {"tasks": ["simple", "multiple"], "max_tokens": 256, "text_calls": True, "limit": None}]
    assert options_text(runs[0]) == "tasks=simple,multiple · max_tokens=128 · text_calls=true"
    assert varying_options(runs) == ["max_tokens"]
    assert matrix_text(runs[1], runs) == "max_tokens=256"
    assert matrix_text(runs[0], runs[:1]) == options_text(runs[0])  # one run: all it was given


def test_dry_run_prints_no_python_dict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(REPO / "examples" / "sweep.toml"), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "{" not in out and "'" not in out
    assert "max_tokens=128" in out and "max_tokens=256" in out


def test_a_sweep_table_is_titled_by_its_matrix_value() -> None:
    request = RunRequest(suite="tool-calling", spec=TargetSpec(target="http://127.0.0.1:9/v1"))
    table = side_by_side([TargetRun("a", request)], title="tool-calling · max_tokens=256")
    assert str(table.title).endswith("max_tokens=256")

"""``mlx-bench datasets``: list, prepare and info, with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main


def test_list_prepare_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))
    assert main(["datasets", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert not rows["humaneval"]["cached"] and rows["humaneval"]["count"] == 164  # the pinned size, before extraction
    assert rows["mbpp_plus"]["needs_data"]

    assert main(["datasets", "prepare", "humaneval", "--json"]) == 0
    (prepared,) = json.loads(capsys.readouterr().out)
    assert prepared["count"] == 164 and (tmp_path / "datasets" / "humaneval.jsonl").exists()

    assert main(["datasets", "info", "humaneval", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cached"] and info["sha256"] == prepared["sha256"] and info["license"] == "MIT"


def test_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))
    assert main(["datasets", "info", "nope"]) == 2
    assert main(["datasets", "prepare", "mbpp_plus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "unknown dataset 'nope'" in err[0] and "MbppPlus.jsonl.gz" in err[1]

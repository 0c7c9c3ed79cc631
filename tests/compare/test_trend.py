"""Change-point detection: a planted step is found where it was planted; flat noise is left alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.make_runs import put_history

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare import detect_change_points, trend
from mlx_benchmarks.store import Store


def step_series(n_before: int, n_after: int, before: float, after: float, *, noise: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    levels = np.array([before] * n_before + [after] * n_after)
    return [float(v) for v in levels * (1 + noise * rng.standard_normal(len(levels)))]


def test_a_planted_step_is_found_at_its_index() -> None:
    values = step_series(12, 10, 100.0, 80.0, noise=0.03, seed=4)
    [split] = detect_change_points(values, seed=1)
    assert split.index == 12
    assert split.p_value < 0.01
    assert split.before == pytest.approx(100, rel=0.05) and split.after == pytest.approx(80, rel=0.05)


def test_two_steps_are_both_found() -> None:
    values = step_series(10, 0, 100.0, 0, noise=0.02, seed=1) + step_series(10, 10, 130.0, 90.0, noise=0.02, seed=2)
    assert [s.index for s in detect_change_points(values, seed=0)] == [10, 20]


@pytest.mark.parametrize("seed", range(5))
def test_flat_noisy_series_has_no_change_points(seed: int) -> None:
    values = step_series(30, 0, 100.0, 0, noise=0.04, seed=seed)
    assert detect_change_points(values, seed=seed) == []


def test_a_tiny_shift_is_below_min_shift() -> None:
    values = step_series(15, 15, 100.0, 98.0, noise=0.001, seed=3)
    assert detect_change_points(values) == []
    assert [s.index for s in detect_change_points(values, min_shift=0.01)] == [15]


def test_short_series_never_split() -> None:
    assert detect_change_points([1.0, 100.0, 1.0, 100.0, 1.0]) == []


def test_trend_over_the_store_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "store")
    stepped = put_history(store, model="m-step", name="decode", values=step_series(8, 8, 50.0, 40.0, noise=0.02, seed=9))
    put_history(store, model="m-flat", name="decode", values=step_series(16, 0, 50.0, 0, noise=0.02, seed=10))
    series = {s.model: s for s in trend(store)}
    assert series["m-flat"].change_points == []
    [point] = series["m-step"].change_points
    assert point.run_id == stepped[8] and point.direction == "regressed"
    assert point.rel_change is not None and point.rel_change < -0.1

    assert main(["trend", "--model", "m-step", "--metric", "decode", "--json", "--store", str(store.root)]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["change_points"][0]["run_id"] == stepped[8]
    assert len(document["values"]) == 16
    assert main(["trend", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 series changed" in out and "m-step" in out and "m-flat" not in out

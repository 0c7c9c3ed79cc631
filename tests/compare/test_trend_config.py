"""trend: one series per configuration, and a series too short to reach its alpha is said to be untested."""

from __future__ import annotations

import json
import math
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.make_runs import envelope, put_history

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare import trend
from mlx_benchmarks.compare.trend import _best_split, min_series_length
from mlx_benchmarks.store import Store


@pytest.mark.parametrize(("alpha", "expected"), [(0.01, 10), (0.05, 8), (0.1, 7), (0.005, 11)])
def test_min_series_length(alpha: float, expected: int) -> None:
    assert min_series_length(alpha) == expected


def test_the_bound_is_the_exact_permutation_p_of_a_clean_step() -> None:
    # 8 points, a clean step in the middle: the best any 8-point series can do
    step = np.array([1.0, 2, 3, 4, 10, 11, 12, 13])
    observed = max(abs(v) for v in np.cumsum(step - step.mean())[2:5])
    orderings = list(permutations(step))
    reaching = sum(max(abs(v) for v in np.cumsum(np.array(p) - step.mean())[2:5]) >= observed - 1e-9 for p in orderings)
    assert reaching / len(orderings) == pytest.approx(2 / math.comb(8, 4))
    assert 2 / math.comb(8, 4) >= 0.01 and min_series_length(0.01) == 10
    # and the sampled test never gets there with 8 points; with 10 it can (the exact p is 2/252 = 0.0079, which
    # enough shuffles resolve; 999 of them wobble around it, so 10 is the necessary length, not a sufficient one)
    best = _best_split(step, 3, 999, np.random.default_rng(0))
    assert best is not None and best[1] > 0.01
    ten = _best_split(np.array([1.0, 2, 3, 4, 5, 10, 11, 12, 13, 14]), 3, 20_000, np.random.default_rng(0))
    assert ten is not None and ten[1] == pytest.approx(2 / math.comb(10, 5), abs=0.0015) and ten[1] < 0.01


def test_an_alpha_below_the_permutation_resolution_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert min_series_length(0.001) is None
    assert main(["trend", "--alpha", "0.0005", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--alpha" in err


def test_eight_runs_at_the_default_alpha_are_too_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "store")
    put_history(store, model="m", name="decode", values=[50.0] * 4 + [30.0] * 4)  # a clear step, but 8 runs
    [series] = trend(store)
    assert (series.tested, series.min_runs, series.change_points) == (False, 10, [])
    assert main(["trend", "--json", "--store", str(store.root)]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["tested"] is False and document["min_runs"] == 10
    assert main(["trend", "--all", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 series too short to test" in out and "alpha 0.01 only with 10 runs" in out
    assert "not tested" in out  # the table cell: "not tested: 8 of 10 runs needed", folded to the width
    # at alpha 0.05 eight runs are enough, and the step is found
    [tested] = trend(store, alpha=0.05)
    assert tested.tested and [c.index for c in tested.change_points] == [4]


def test_series_split_by_configuration(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    for hour in range(12):
        results = [
            {"name": "decode", "metric": "throughput", "value": 20.0 + 0.01 * hour, "unit": "tok/s",
             "tags": {"weights_layout": "float32"}},
            {"name": "decode", "metric": "throughput", "value": 60.0 + 0.01 * hour, "unit": "tok/s",
             "tags": {"weights_layout": "quantized"}},
        ]
        store.put(envelope(suite="throughput", model="m", hour=hour, results=results))
    series = {s.label: s for s in trend(store)}
    assert set(series) == {"weights_layout=float32", "weights_layout=quantized"}
    # mixed into one series, the two layouts would alternate 20/60 and hide any real change; apart, they are flat
    assert all(s.tested and s.change_points == [] and len(s.values) == 12 for s in series.values())
    assert series["weights_layout=quantized"].config == {"weights_layout": "quantized"}

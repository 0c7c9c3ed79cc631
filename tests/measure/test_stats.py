"""Percentiles agree with numpy's default (linear) method and handle the edges."""

from __future__ import annotations

import random

import numpy as np
import pytest

from mlx_benchmarks.measure.stats import median, percentile, summary


def test_percentiles_match_numpy_linear_on_random_data() -> None:
    rng = random.Random(7)
    for n in (1, 2, 5, 100, 1001):
        values = [rng.uniform(0, 1000) for _ in range(n)]
        for q in (0, 1, 50, 90, 99, 100):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_empty_nan_and_bad_q() -> None:
    assert percentile([], 50) is None and median([float("nan")]) is None
    assert summary([]) == {}
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_fields() -> None:
    out = summary([1.0, 2.0, 3.0, 4.0])
    assert (out["n"], out["mean"], out["min"], out["max"], out["p50"]) == (4.0, 2.5, 1.0, 4.0, 2.5)
    assert out["p90"] == pytest.approx(3.7) and out["p99"] == pytest.approx(3.97)

"""The statistics behind compare: exact tests against hand-computed values, bootstrap determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlx_benchmarks.compare.direction import higher_is_better
from mlx_benchmarks.compare.stats import (
    bootstrap_median_ratio,
    mann_whitney_u,
    mcnemar_exact,
    paired_bootstrap_diff,
)


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    # 1 vs 9 discordant pairs: 2 * P(X <= 1), X ~ Binomial(10, 1/2) = 2 * 11/1024
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_exact_stays_accurate_for_large_imbalances() -> None:
    p = mcnemar_exact(0, 200)
    assert 0 < p < 1e-50
    assert math.isclose(p, 2.0 / 2**200, rel_tol=1e-9)


def test_mann_whitney_exact_small_samples() -> None:
    # complete separation of 5 vs 5: exact two-sided p = 2 / C(10, 5)
    assert mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert mann_whitney_u([1, 3, 5, 7], [2, 4, 6, 8]) > 0.5


def test_mann_whitney_normal_approximation_with_ties() -> None:
    a = [1.0] * 30 + [2.0] * 30
    b = [2.0] * 30 + [3.0] * 30
    p = mann_whitney_u(a, b)
    assert 0 < p < 1e-6
    assert mann_whitney_u(a, list(a)) == pytest.approx(1.0)


def test_bootstrap_median_ratio_finds_a_planted_slowdown() -> None:
    rng = np.random.default_rng(7)
    base = 100 * (1 + 0.02 * rng.standard_normal(12))
    slow = 80 * (1 + 0.02 * rng.standard_normal(12))
    interval = bootstrap_median_ratio(base, slow, seed=3)
    assert interval.low < interval.estimate < interval.high
    assert interval.high < -0.1  # clearly below zero: about -20%
    assert interval.excludes(0.0)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    base, cand = [10.0, 11.0, 9.5, 10.2, 10.8], [10.1, 9.9, 10.4, 10.6, 9.7]
    first = bootstrap_median_ratio(base, cand, seed=5)
    assert bootstrap_median_ratio(base, cand, seed=5) == first
    assert not first.excludes(0.0)


def test_bootstrap_needs_enough_trials() -> None:
    with pytest.raises(ValueError, match="at least"):
        bootstrap_median_ratio([1.0, 2.0], [1.0, 2.0, 3.0])


def test_paired_bootstrap_uses_the_pairing() -> None:
    # the candidate is the baseline plus a tiny constant: unpaired this is noise, paired it is certain
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, size=200)
    interval = paired_bootstrap_diff(base, base + 0.01, seed=1)
    assert interval.estimate == pytest.approx(0.01)
    assert interval.low == pytest.approx(0.01) and interval.high == pytest.approx(0.01)
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1.0], [1.0, 0.0])


@pytest.mark.parametrize(
    ("unit", "tags", "expected"),
    [
        ("tok/s", None, True),
        ("ratio", None, True),
        ("ms", None, False),
        ("seconds", None, False),
        ("s", None, False),
        ("widgets", None, None),
        ("ms", {"higher_is_better": "true"}, True),
        ("ratio", {"higher_is_better": "false"}, False),
    ],
)
def test_direction(unit: str, tags: dict[str, str] | None, expected: bool | None) -> None:
    assert higher_is_better(unit, tags) is expected


def test_decide_needs_interval_and_change_to_agree() -> None:
    from mlx_benchmarks.compare.diff import _Evidence, decide
    from mlx_benchmarks.compare.stats import Interval

    below = _Evidence(Interval(-0.2, -0.25, -0.15), None, 0.001, "bootstrap-median", 10)
    assert decide(-0.2, below, True, threshold=0.05, alpha=0.05) == "regressed"
    assert decide(-0.2, below, False, threshold=0.05, alpha=0.05) == "improved"
    assert decide(-0.2, below, None, threshold=0.05, alpha=0.05) == "changed"
    assert decide(+0.2, below, True, threshold=0.05, alpha=0.05) == "no change"  # signs disagree
    assert decide(-0.2, below, True, threshold=0.30, alpha=0.05) == "no change"  # below the threshold
    weak = _Evidence(Interval(-0.2, -0.25, -0.15), None, 0.2, "mcnemar-exact", 10)
    assert decide(-0.2, weak, True, threshold=0.05, alpha=0.05) == "no change"  # p too large
    assert decide(-0.9, None, True, threshold=0.05, alpha=0.05) == "no error bars"

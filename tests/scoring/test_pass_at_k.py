"""The unbiased pass@k estimator against the exact binomial formula."""

from __future__ import annotations

import math

import pytest

from mlx_benchmarks.scoring.pass_at_k import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(10, 3, 1), (10, 3, 5), (20, 1, 10), (200, 17, 10), (7, 0, 3), (5, 5, 5)])
def test_matches_the_binomial_definition(n: int, c: int, k: int) -> None:
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_1_is_the_pass_fraction() -> None:
    assert pass_at_k(8, 3, 1) == pytest.approx(3 / 8)


def test_large_n_stays_finite_and_monotone_in_k() -> None:
    values = [pass_at_k(10_000, 25, k) for k in (1, 10, 100, 1000)]
    assert all(0 < v <= 1 for v in values)
    assert values == sorted(values)


def test_all_subsets_pass_when_few_failures() -> None:
    assert pass_at_k(5, 3, 3) == 1.0  # only 2 failures: every 3-subset holds a pass


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="at least 6 samples"):
        pass_at_k(5, 1, 6)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)


def test_mean_over_problems() -> None:
    assert mean_pass_at_k([(4, 4), (4, 0)], 1) == pytest.approx(0.5)
    assert mean_pass_at_k([], 1) == 0.0

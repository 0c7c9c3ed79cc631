"""Small, exact-where-possible statistics for comparing two runs (numpy only, no scipy).

Every resampling function takes a ``seed`` and uses its own ``numpy.random.Generator``, so the same
inputs always give the same interval.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlx_benchmarks.lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
else:  # imported on first use (mlx_benchmarks.lazy): the views import this package for its SQL only
    np = lazy_module("numpy")

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
# below this many trials per side a bootstrap of the median says nothing useful
MIN_TRIALS = 3
# exact Mann-Whitney null distribution up to this many observations in total; normal approximation above
EXACT_MW_LIMIT = 40


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval around it."""

    estimate: float
    low: float
    high: float

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside [low, high] (the change is significant at this level)."""
        return value < self.low or value > self.high


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs.

    Under the null each discordant pair is a fair coin, so this is a binomial test of ``min(b, c)``
    against Binomial(b + c, 1/2).
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    # int / int stays exact until the one rounding at the end, even where 2**n overflows a float
    return min(1.0, (2 * tail) / (1 << n))


@cache
def _u_counts(n: int, m: int) -> tuple[int, ...]:
    """How many orderings of n x's and m y's give each value of U (the Mann-Whitney null)."""
    if n == 0 or m == 0:
        return (1,)
    # the largest observation is either an x (it beats all m y's) or a y (it adds nothing)
    with_x = _u_counts(n - 1, m)
    with_y = _u_counts(n, m - 1)
    out = [0] * (n * m + 1)
    for k, count in enumerate(with_x):
        out[k + m] += count
    for k, count in enumerate(with_y):
        out[k] += count
    return tuple(out)


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value: exact for small samples without ties, else normal approximation."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        raise ValueError("both samples need at least one value")
    both = np.concatenate([a, b])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(n + m)
    ranks[order] = np.arange(1, n + m + 1, dtype=float)
    # average ranks over ties
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    rank_sums = np.bincount(inverse, weights=ranks)
    ranks = rank_sums[inverse] / counts[inverse]
    u = float(ranks[:n].sum() - n * (n + 1) / 2.0)
    has_ties = bool((counts > 1).any())
    if not has_ties and n + m <= EXACT_MW_LIMIT:
        dist = _u_counts(n, m)
        total = math.comb(n + m, n)
        u_low = min(u, n * m - u)
        tail = sum(dist[: round(u_low) + 1])
        return min(1.0, 2.0 * tail / total)
    mean = n * m / 2.0
    tie_term = float(((counts**3) - counts).sum()) / ((n + m) * (n + m - 1)) if n + m > 1 else 0.0
    variance = n * m / 12.0 * ((n + m + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)  # continuity correction
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def bootstrap_median_ratio(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """Interval of ``median(candidate) / median(baseline) - 1`` by resampling each side independently.

    The trials of two runs are not paired (trial 3 of run A has nothing to do with trial 3 of run B),
    so each side is resampled on its own. A ratio of 0 means no change.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(candidate, dtype=float)
    if len(a) < MIN_TRIALS or len(b) < MIN_TRIALS:
        raise ValueError(f"need at least {MIN_TRIALS} trials on each side")
    base_median = float(np.median(a))
    if base_median == 0:
        raise ValueError("the baseline median is zero; a ratio is undefined")
    rng = np.random.default_rng(seed)
    med_a = np.median(a[rng.integers(0, len(a), size=(resamples, len(a)))], axis=1)
    med_b = np.median(b[rng.integers(0, len(b), size=(resamples, len(b)))], axis=1)
    valid = med_a != 0
    ratios = med_b[valid] / med_a[valid] - 1.0
    low, high = _percentiles(ratios, confidence)
    return Interval(float(np.median(b)) / base_median - 1.0, low, high)


def paired_bootstrap_diff(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """Interval of ``mean(candidate) - mean(baseline)`` over paired scores (same sample ids, same order).

    Resampling the pairs, not each side, keeps the per-sample difficulty that both runs share, which is
    what makes a paired test far tighter than comparing two accuracies independently.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(candidate, dtype=float)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("paired scores must be non-empty and of equal length")
    diffs = b - a
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # resample in chunks so a 10k-sample suite does not allocate a 20M-element index array at once
    chunk = max(1, 2_000_000 // len(diffs))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, len(diffs), size=(stop - start, len(diffs)))
        means[start:stop] = diffs[idx].mean(axis=1)
    low, high = _percentiles(means, confidence)
    return Interval(float(diffs.mean()), low, high)

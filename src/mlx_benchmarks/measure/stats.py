"""Percentiles and summaries of measured values, without numpy on the hot path."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear interpolation between closest ranks (numpy's default)."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    data = sorted(v for v in values if not math.isnan(v))
    if not data:
        return None
    position = (len(data) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def summary(values: Sequence[float], percentiles: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """``{"n", "mean", "min", "max", "p50", "p90", "p99"}``; empty when there are no values."""
    data = [v for v in values if not math.isnan(v)]
    if not data:
        return {}
    out: dict[str, float] = {"n": float(len(data)), "mean": sum(data) / len(data), "min": min(data),
                             "max": max(data)}
    for q in percentiles:
        value = percentile(data, q)
        assert value is not None
        out[f"p{q:g}"] = value
    return out


def stddev(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1, as numpy's ``std(ddof=1)``); None below two values."""
    data = [v for v in values if not math.isnan(v)]
    if len(data) < 2:
        return None
    mean = sum(data) / len(data)
    return math.sqrt(sum((v - mean) ** 2 for v in data) / (len(data) - 1))


def label(q: float) -> str:
    """``99.9`` -> ``"p99.9"``, ``50`` -> ``"p50"``: the name a percentile goes by in results and tags."""
    return f"p{q:g}"


def spread_tags(values: Sequence[float], trials: Sequence[float] = (), digits: int = 4) -> dict[str, object]:
    """What belongs beside a median: the stddev of the values it summarises and the range of the trials."""
    tags: dict[str, object] = {}
    deviation = stddev(values)
    tags["stddev"] = "n/a" if deviation is None else round(deviation, digits)
    if trials:
        tags["trial_min"], tags["trial_max"] = round(min(trials), digits), round(max(trials), digits)
    return tags

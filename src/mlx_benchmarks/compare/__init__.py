"""Compare runs with error bars, gate on regressions, and find change points over time.

The report and dashboard use this package's API:

- ``compare_runs(store, run_a, run_b, threshold=0.05, seed=0) -> Comparison`` (``diff``)
- ``latest_pair(store, model=..., suite=..., latest=2) -> (baseline_id, candidate_id)`` (``select``)
- ``trend(store, model=..., suite=..., metric=...) -> list[Series]`` (``trend``)
- ``higher_is_better(unit, tags)`` (``direction``)
- ``result_config(result, envelope)``, ``config_sql()``: what defines a result (``config_key``)
"""

from __future__ import annotations

from mlx_benchmarks.compare.config_key import CONFIG_KEYS, config_sql, result_config, row_config
from mlx_benchmarks.compare.diff import Comparison, ComparisonRow, compare_envelopes, compare_runs
from mlx_benchmarks.compare.direction import higher_is_better
from mlx_benchmarks.compare.pairing import NothingComparable, Unpaired
from mlx_benchmarks.compare.select import latest_pair
from mlx_benchmarks.compare.trend import ChangePoint, Series, detect_change_points, trend

__all__ = [
    "CONFIG_KEYS",
    "ChangePoint",
    "Comparison",
    "ComparisonRow",
    "NothingComparable",
    "Series",
    "Unpaired",
    "compare_envelopes",
    "compare_runs",
    "config_sql",
    "detect_change_points",
    "higher_is_better",
    "latest_pair",
    "result_config",
    "row_config",
    "trend",
]

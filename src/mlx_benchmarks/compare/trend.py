"""Change points in a metric's history: binary segmentation with a CUSUM statistic and a permutation test.

For one series (model × suite × result name × metric × configuration, ordered by run time):

1. ``S_k = Σ_{i≤k} (x_i − mean(x))``; the split candidate is the ``k`` with the largest ``|S_k|``
   (each side keeping at least ``min_size`` points).
2. The series is shuffled ``resamples`` times (seeded); the p-value is the share of shuffles whose
   largest ``|S_k|`` is at least the observed one. Shuffling keeps the values and destroys the order,
   which is exactly the "no change over time" null.
3. A split counts when ``p < alpha`` *and* the medians on either side differ by at least ``min_shift``
   (relative), so a statistically detectable but tiny drift is not flagged. Each side is then searched
   again (binary segmentation).

A series too short for the permutation test to reach ``alpha`` at all (``min_series_length``) is not tested
and says so (``tested=False``), rather than passing for "no change".

Public API: ``trend(store, model=..., suite=..., metric=...) -> list[Series]``; ``detect_change_points``
works on a bare list of numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from mlx_benchmarks.compare.config_key import config_label, config_text, row_config, varying_keys
from mlx_benchmarks.compare.direction import higher_is_better
from mlx_benchmarks.compare.names import with_current_names_sql
from mlx_benchmarks.compare.validity import VALID_SQL
from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.query import Queryable, fetch, relation

if TYPE_CHECKING:
    import numpy as np
else:  # imported on first use (mlx_benchmarks.lazy): the views import this package for its SQL only
    np = lazy_module("numpy")


Direction = Literal["improved", "regressed", "changed"]
DEFAULT_MIN_SIZE = 3
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_SHIFT = 0.05
DEFAULT_RESAMPLES = 999


@dataclass(frozen=True)
class Split:
    """A change point in a bare series: the new level starts at ``index``."""

    index: int
    p_value: float
    before: float  # median of the segment before
    after: float  # median of the segment after


def min_series_length(alpha: float, *, min_size: int = DEFAULT_MIN_SIZE, resamples: int = DEFAULT_RESAMPLES) -> int | None:
    """The fewest points with which a change can reach ``p < alpha``; None when no length can.

    The largest ``|S_k|`` is reached by every ordering that puts the same ``k`` values before the split, in any
    order, and by the mirrored orderings that put the other ``n - k`` values first: ``2 · k! (n-k)!`` of the
    ``n!`` orderings. So the exact permutation p-value is never below ``2 / C(n, k)``, smallest for the
    balanced split ``k = n // 2`` (a clean step): 2/70 = 0.029 for 8 points, 2/252 = 0.0079 for 10. The
    sampled test adds its own floor, ``1 / (resamples + 1)``.
    """
    if not 0.0 < alpha <= 1.0 or alpha <= 1.0 / (resamples + 1):
        return None
    n = 2 * min_size
    while 2.0 / math.comb(n, n // 2) >= alpha:
        n += 1
    return n


def _max_cusum(matrix: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Largest ``|S_k|`` per row over split positions ``lo <= k < hi``."""
    centred = matrix - matrix.mean(axis=-1, keepdims=True)
    sums = np.abs(np.cumsum(centred, axis=-1))[..., lo:hi]
    result: np.ndarray = sums.max(axis=-1)
    return result


def _best_split(x: np.ndarray, min_size: int, resamples: int, rng: np.random.Generator) -> tuple[int, float] | None:
    n = len(x)
    if n < 2 * min_size:
        return None
    # S_k for k = min_size-1 .. n-min_size-1 splits into x[:k+1] and x[k+1:]
    lo, hi = min_size - 1, n - min_size
    centred = np.abs(np.cumsum(x - x.mean()))[lo:hi]
    k = lo + int(centred.argmax())
    observed = float(centred.max())
    if observed == 0.0:
        return None
    shuffled = rng.permuted(np.broadcast_to(x, (resamples, n)), axis=1)
    exceed = int((_max_cusum(shuffled, lo, hi) >= observed - 1e-12).sum())
    return k + 1, (exceed + 1) / (resamples + 1)


def detect_change_points(
    values: Sequence[float],
    *,
    min_size: int = DEFAULT_MIN_SIZE,
    alpha: float = DEFAULT_ALPHA,
    min_shift: float = DEFAULT_MIN_SHIFT,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[Split]:
    """Every change point of ``values`` (in order), by seeded binary segmentation."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    found: list[Split] = []
    pending = [(0, len(x))]
    while pending:
        start, stop = pending.pop()
        best = _best_split(x[start:stop], min_size, resamples, rng)
        if best is None:
            continue
        offset, p_value = best
        split = start + offset
        before, after = float(np.median(x[start:split])), float(np.median(x[split:stop]))
        shift = abs(after - before) / abs(before) if before != 0 else abs(after - before)
        if p_value >= alpha or shift < min_shift:
            continue
        found.append(Split(split, p_value, before, after))
        pending += [(start, split), (split, stop)]
    return sorted(found, key=lambda s: s.index)


@dataclass(frozen=True)
class ChangePoint:
    """A change point located in a stored series: the first run at the new level."""

    run_id: str
    timestamp: datetime
    index: int
    before: float
    after: float
    rel_change: float | None
    p_value: float
    direction: Direction

    def to_json(self) -> JSON:
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        return out


@dataclass(frozen=True)
class Series:
    """One model × suite × result × metric × configuration history, oldest first, with its change points.

    ``label`` names the configuration keys that tell this series apart from others of the same result ("" when
    there is one configuration). ``tested`` is False when the series has fewer than ``min_runs`` points, the
    fewest with which the test could reach its alpha: no change points then means "not tested", not "no change".
    """

    model: str
    suite: str
    name: str
    metric: str
    unit: str
    higher_is_better: bool | None
    run_ids: list[str]
    timestamps: list[datetime]
    values: list[float]
    change_points: list[ChangePoint] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    label: str = ""
    tested: bool = False
    min_runs: int | None = None

    def to_json(self) -> JSON:
        out = {k: v for k, v in asdict(self).items() if k not in ("timestamps", "change_points")}
        out["timestamps"] = [t.isoformat() for t in self.timestamps]
        out["change_points"] = [c.to_json() for c in self.change_points]
        return out


def load_series(
    store: Queryable, *, model: str | None = None, suite: str | None = None, metric: str | None = None,
    include_invalid: bool = False,
) -> list[Series]:
    """Every stored series (no change points yet). ``metric`` matches a result name or a metric name; results
    tagged ``valid=false`` are left out unless ``include_invalid`` (``compare.validity``)."""
    if not store.has_table("results"):
        return []
    where, params = ["NOT coalesce(skipped, false)"], []
    if not include_invalid:
        where.append(VALID_SQL)
    if model:
        where.append("(model = ? OR model ILIKE ?)")
        params += [model, f"%{model}%"]
    if suite:
        where.append("suite = ?")
        params.append(suite)
    if metric:
        where.append("(name = ? OR metric = ?)")
        params += [metric, metric]
    sql = (
        "SELECT run_id, timestamp, model, suite, name, metric, unit, value, tags_json, quantization, seed, "
        f"result_index FROM ({with_current_names_sql(relation(store, 'results'))}) WHERE {' AND '.join(where)} "
        "ORDER BY model, suite, name, metric, timestamp, run_id, result_index"
    )
    grouped: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = {}
    configs: dict[tuple[str, str, str, str], dict[str, dict[str, str]]] = {}
    for row in fetch(store.connect(), sql, params):
        config = row_config(row)
        result = (row["model"], row["suite"], row["name"], row["metric"])
        configs.setdefault(result, {})[config_text(config)] = config
        grouped.setdefault((*result, config_text(config)), []).append(row)
    out = []
    for (model_name, suite_name, name, metric_name, text), rows in grouped.items():
        first_per_run: dict[str, dict[str, Any]] = {}
        for r in rows:  # a run that repeats a result contributes its first occurrence
            first_per_run.setdefault(r["run_id"], r)
        points = list(first_per_run.values())
        siblings = configs[(model_name, suite_name, name, metric_name)]
        config = siblings[text]
        out.append(
            Series(
                model=model_name,
                suite=suite_name,
                name=name,
                metric=metric_name,
                unit=points[-1]["unit"],
                higher_is_better=higher_is_better(points[-1]["unit"], _row_tags(points[-1])),
                run_ids=[r["run_id"] for r in points],
                timestamps=[r["timestamp"] for r in points],
                values=[float(r["value"]) for r in points],
                config=config,
                label=config_label(config, varying_keys(list(siblings.values()))) if len(siblings) > 1 else "",
            )
        )
    return out


def _row_tags(row: dict[str, Any]) -> dict[str, str]:
    loaded = json.loads(row["tags_json"] or "{}")
    return loaded if isinstance(loaded, dict) else {}


def _locate(series: Series, split: Split) -> ChangePoint:
    rel = (split.after - split.before) / abs(split.before) if split.before != 0 else None
    direction: Direction = "changed"
    if series.higher_is_better is not None:
        direction = "improved" if (split.after > split.before) == series.higher_is_better else "regressed"
    return ChangePoint(
        run_id=series.run_ids[split.index],
        timestamp=series.timestamps[split.index],
        index=split.index,
        before=split.before,
        after=split.after,
        rel_change=rel,
        p_value=split.p_value,
        direction=direction,
    )


def trend(
    store: Queryable,
    *,
    model: str | None = None,
    suite: str | None = None,
    metric: str | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    alpha: float = DEFAULT_ALPHA,
    min_shift: float = DEFAULT_MIN_SHIFT,
    seed: int = 0,
    include_invalid: bool = False,
) -> list[Series]:
    """Every matching series with its change points filled in; a series shorter than ``min_series_length``
    is returned untested (``tested=False``). Raises ValueError for an alpha no series length can reach."""
    needed = min_series_length(alpha, min_size=min_size)
    if needed is None:
        raise ValueError(f"alpha {alpha:g} is out of reach: a permutation test of {DEFAULT_RESAMPLES} shuffles "
                         f"cannot give p below {1 / (DEFAULT_RESAMPLES + 1):.4g}")
    out = []
    for series in load_series(store, model=model, suite=suite, metric=metric, include_invalid=include_invalid):
        if len(series.values) < needed:
            out.append(replace(series, tested=False, min_runs=needed))
            continue
        splits = detect_change_points(series.values, min_size=min_size, alpha=alpha, min_shift=min_shift, seed=seed)
        out.append(replace(series, change_points=[_locate(series, s) for s in splits], tested=True, min_runs=needed))
    return out

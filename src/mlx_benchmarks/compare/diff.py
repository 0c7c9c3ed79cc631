"""Compare two stored runs metric by metric, with error bars and a noise-aware verdict.

Public API (the report and dashboard call these)::

    comparison = compare_runs(store, "run-2026...", "run-2026...", threshold=0.05, seed=0)
    for row in comparison.rows: ...          # ComparisonRow
    comparison.regressions                   # rows whose verdict is "regressed"
    comparison.to_json(); comparison.to_markdown()

``store`` is anything with ``resolve``, ``envelope`` and ``samples`` (a local ``Store`` or a
``RemoteStore``). Run A is the baseline, run B the candidate. See docs/compare.md for the statistics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from mlx_benchmarks.compare.direction import higher_is_better
from mlx_benchmarks.compare.pairing import Pairing, Unpaired, nothing_comparable, pair_results
from mlx_benchmarks.compare.stats import (
    DEFAULT_CONFIDENCE,
    MIN_TRIALS,
    Interval,
    bootstrap_median_ratio,
    mann_whitney_u,
    mcnemar_exact,
    paired_bootstrap_diff,
)
from mlx_benchmarks.compare.validity import valid_envelope
from mlx_benchmarks.envelope import JSON

Verdict = Literal["improved", "regressed", "no change", "changed", "no error bars"]
Method = Literal["bootstrap-median", "mcnemar-exact", "paired-bootstrap", "none"]
# per-sample scores back a result only when it is a score-like number of the same task
QUALITY_UNITS = frozenset({"ratio", "score"})


class RunSource(Protocol):
    """What comparing needs from a store: a local ``Store`` and a ``RemoteStore`` both fit."""

    def resolve(self, prefix: str) -> str: ...

    def envelope(self, run_id: str) -> JSON: ...

    def samples(self, run_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ComparisonRow:
    """One metric present in both runs.

    ``rel_change`` is ``b / a - 1``; ``ci_low``/``ci_high`` bound that same relative change (None where
    there are no error bars or ``a`` is zero). ``n`` counts trials per side (speed) or paired samples
    (quality).
    """

    name: str
    metric: str
    unit: str
    a: float
    b: float
    abs_change: float
    rel_change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: Method
    verdict: Verdict
    higher_is_better: bool | None
    n: int = 0
    config: dict[str, str] = field(default_factory=dict)  # the configuration both results share
    label: str = ""  # the name with the configuration keys that tell it from namesakes ("" when it has none)

    def to_json(self) -> JSON:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """Every result of baseline run A paired with B's result of the same name, metric and configuration.

    ``unpaired``: results of the same name and metric whose configurations differ, with the difference;
    ``only_a`` / ``only_b``: names found in one run only; ``ignored_config``: keys not matched on.
    """

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    suite_a: str
    suite_b: str
    threshold: float
    seed: int
    confidence: float
    rows: list[ComparisonRow]
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    unpaired: list[Unpaired] = field(default_factory=list)
    ignored_config: list[str] = field(default_factory=list)

    def check_comparable(self) -> None:
        """Raise NothingComparable (exit 2) when not a single result could be paired."""
        if not self.rows:
            raise nothing_comparable(self.run_a, self.run_b, Pairing([], self.unpaired, self.only_a, self.only_b))

    @property
    def regressions(self) -> list[ComparisonRow]:
        """Rows with a significant change for the worse beyond the threshold."""
        return [row for row in self.rows if row.verdict == "regressed"]

    @property
    def improvements(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.verdict == "improved"]

    def to_json(self) -> JSON:
        out = {k: v for k, v in asdict(self).items() if k != "rows"}
        out["rows"] = [row.to_json() for row in self.rows]
        out["regressions"] = len(self.regressions)
        out["improvements"] = len(self.improvements)
        return out

    def to_markdown(self) -> str:
        from mlx_benchmarks.compare.markdown import comparison_markdown

        return comparison_markdown(self)


@dataclass(frozen=True)
class _Evidence:
    """The error bars behind one row, before the verdict."""

    interval: Interval | None  # on the relative change
    abs_interval: Interval | None  # on the absolute change, where it is the natural scale
    p_value: float | None
    method: Method
    n: int


def trials(result: Mapping[str, Any]) -> list[float]:
    """The per-trial values in ``raw.trials`` (empty when absent or malformed)."""
    raw = result.get("raw")
    values = raw.get("trials") if isinstance(raw, Mapping) else None
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def samples_by_task(samples: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Per-sample records grouped by their ``task`` (the result name they belong to)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for sample in samples:
        if sample.get("task") is not None:
            out.setdefault(str(sample["task"]), []).append(sample)
    return out


def sample_scores(samples: Sequence[Mapping[str, Any]], metric: str) -> dict[str, float]:
    """Sample id (with its repeat index) -> score for ``metric``.

    The score is ``scores[metric]`` where the record has a per-metric dict (stored as JSON text), else
    the headline ``score``. Errored or unscored samples are left out, as the suites leave them out of
    the mean they report, so the paired test measures the same thing as the value.
    """
    out: dict[str, float] = {}
    for sample in samples:
        if sample.get("error") or sample.get("id") is None:
            continue
        scores = sample.get("scores")
        if isinstance(scores, str):
            try:
                scores = json.loads(scores)
            except json.JSONDecodeError:
                scores = None
        score = scores.get(metric) if isinstance(scores, Mapping) and metric in scores else sample.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score):
            out.setdefault(f"{sample['id']}#{sample.get('sample_index') or 0}", float(score))
    return out


def _speed_evidence(ta: list[float], tb: list[float], seed: int, confidence: float) -> _Evidence | None:
    if len(ta) < MIN_TRIALS or len(tb) < MIN_TRIALS:
        return None
    try:
        interval = bootstrap_median_ratio(ta, tb, seed=seed, confidence=confidence)
    except ValueError:
        return None
    return _Evidence(interval, None, mann_whitney_u(ta, tb), "bootstrap-median", min(len(ta), len(tb)))


def _quality_evidence(
    sa: Mapping[str, float], sb: Mapping[str, float], seed: int, confidence: float
) -> _Evidence | None:
    shared = sorted(set(sa) & set(sb))
    if not shared:
        return None
    a = [sa[i] for i in shared]
    b = [sb[i] for i in shared]
    diff = paired_bootstrap_diff(a, b, seed=seed, confidence=confidence)
    base = sum(a) / len(a)
    relative = Interval(diff.estimate / base, diff.low / base, diff.high / base) if base > 0 else None
    if all(v in (0.0, 1.0) for v in (*a, *b)):
        worse = sum(1 for x, y in zip(a, b, strict=True) if x > y)
        better = sum(1 for x, y in zip(a, b, strict=True) if y > x)
        return _Evidence(relative, diff, mcnemar_exact(worse, better), "mcnemar-exact", len(shared))
    return _Evidence(relative, diff, None, "paired-bootstrap", len(shared))


def decide(
    change: float, evidence: _Evidence | None, direction: bool | None, *, threshold: float, alpha: float
) -> Verdict:
    """The verdict for one row; ``change`` is the relative change (absolute where the baseline is 0).

    Significant means the interval excludes zero and, where a test gives a p-value, p < alpha. Only a
    significant change at least ``threshold`` in size is called improved/regressed.
    """
    if evidence is None:
        return "no error bars"
    interval = evidence.interval or evidence.abs_interval
    significant = interval is not None and interval.excludes(0.0)
    if interval is not None and (interval.low > 0 > change or interval.high < 0 < change):
        # the value (e.g. a mean) and the interval (on medians) disagree on the sign: trust neither
        significant = False
    if evidence.p_value is not None:
        significant = significant and evidence.p_value < alpha
    if not significant or abs(change) < threshold:
        return "no change"
    if direction is None:
        return "changed"
    return "improved" if (change > 0) == direction else "regressed"


def compare_results(
    ra: Mapping[str, Any],
    rb: Mapping[str, Any],
    *,
    scores_a: Mapping[str, float] | None = None,
    scores_b: Mapping[str, float] | None = None,
    threshold: float = 0.05,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    config: dict[str, str] | None = None,
    label: str = "",
    name: str = "",
    metric: str = "",
) -> ComparisonRow:
    """Compare one result of run A with the same result of run B (``name``/``metric``: the current name both
    are read under, ``compare.names``; A's own by default)."""
    name, metric = name or str(ra["name"]), metric or str(ra["metric"])
    a, b = float(ra["value"]), float(rb["value"])
    unit = str(rb.get("unit", ra.get("unit", "")))
    direction = higher_is_better(unit, rb.get("tags") or ra.get("tags"))
    evidence = _speed_evidence(trials(ra), trials(rb), seed, confidence)
    if evidence is None and scores_a and scores_b and unit.lower() in QUALITY_UNITS:
        evidence = _quality_evidence(scores_a, scores_b, seed, confidence)
    rel = (b - a) / abs(a) if a != 0 else None
    change = rel if rel is not None else b - a
    verdict = decide(change, evidence, direction, threshold=threshold, alpha=1.0 - confidence)
    interval = evidence.interval if evidence else None
    return ComparisonRow(
        name=name,
        metric=metric,
        unit=unit,
        a=a,
        b=b,
        abs_change=b - a,
        rel_change=rel,
        ci_low=interval.low if interval else None,
        ci_high=interval.high if interval else None,
        p_value=evidence.p_value if evidence else None,
        method=evidence.method if evidence else "none",
        verdict=verdict,
        higher_is_better=direction,
        n=evidence.n if evidence else 0,
        config=dict(config or {}),
        label=label if label != name else "",
    )


def compare_envelopes(
    envelope_a: JSON,
    envelope_b: JSON,
    *,
    samples_a: Sequence[Mapping[str, Any]] = (),
    samples_b: Sequence[Mapping[str, Any]] = (),
    run_a: str = "A",
    run_b: str = "B",
    threshold: float = 0.05,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    ignore_config: Sequence[str] = (),
    include_invalid: bool = False,
) -> Comparison:
    """Compare two envelopes (and their per-sample records) without a store.

    Results are paired by name, metric and configuration (``pairing``); ``ignore_config`` names
    configuration keys not to match on. Results tagged ``valid=false`` are left out, each with an unpaired
    line saying why, unless ``include_invalid`` (``compare.validity``).
    """
    envelope_a, invalid_a = valid_envelope(envelope_a, include_invalid=include_invalid)
    envelope_b, invalid_b = valid_envelope(envelope_b, include_invalid=include_invalid)
    pairing = pair_results(envelope_a, envelope_b, ignore=ignore_config)
    pairing.unpaired.extend(Unpaired(key, f"{side} {why}")
                            for side, left in (("A", invalid_a), ("B", invalid_b)) for key, why in left)
    tasks_a, tasks_b = samples_by_task(samples_a), samples_by_task(samples_b)
    rows = [
        compare_results(
            pair.a,
            pair.b,
            scores_a=sample_scores(tasks_a.get(str(pair.a["name"]), []), str(pair.a["metric"])),
            scores_b=sample_scores(tasks_b.get(str(pair.b["name"]), []), str(pair.b["metric"])),
            threshold=threshold,
            seed=seed,
            confidence=confidence,
            config=pair.config,
            label=pair.label,
            name=pair.name,
            metric=pair.metric,
        )
        for pair in pairing.pairs
    ]
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        model_a=str(envelope_a.get("model", "")),
        model_b=str(envelope_b.get("model", "")),
        suite_a=str(envelope_a.get("suite", "")),
        suite_b=str(envelope_b.get("suite", "")),
        threshold=threshold,
        seed=seed,
        confidence=confidence,
        rows=rows,
        only_a=pairing.only_a,
        only_b=pairing.only_b,
        unpaired=pairing.unpaired,
        ignored_config=list(ignore_config),
    )


def compare_runs(
    store: RunSource,
    run_a: str,
    run_b: str,
    *,
    threshold: float = 0.05,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    ignore_config: Sequence[str] = (),
    include_invalid: bool = False,
) -> Comparison:
    """Compare baseline ``run_a`` with candidate ``run_b`` (ids or unique prefixes) in ``store``.

    Raises StoreError (or PublishError for a remote lake) when a run id is unknown or ambiguous.
    """
    id_a, id_b = store.resolve(run_a), store.resolve(run_b)
    return compare_envelopes(
        store.envelope(id_a),
        store.envelope(id_b),
        samples_a=store.samples(id_a),
        samples_b=store.samples(id_b),
        run_a=id_a,
        run_b=id_b,
        threshold=threshold,
        seed=seed,
        confidence=confidence,
        ignore_config=ignore_config,
        include_invalid=include_invalid,
    )

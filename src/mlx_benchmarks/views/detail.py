"""Views of single runs: the detail page, its per-sample records (paged, filtered), and two runs side by side."""

from __future__ import annotations

import json
import math
from typing import Any

from mlx_benchmarks.compare import compare_runs
from mlx_benchmarks.compare.names import result_name
from mlx_benchmarks.store import Store
from mlx_benchmarks.views.labels import result_label
from mlx_benchmarks.views.queries import JSON

SAMPLE_STATUSES = ("all", "error", "incorrect", "correct")
MAX_PAGE = 500


def _plain(value: Any) -> Any:
    """A JSON-safe value: NaN and infinities become None, bytes become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def read_envelope(store: Any, run_id: str) -> JSON:
    """One envelope; an exact local id is read directly (``Store.envelope`` lists every shard to resolve a prefix)."""
    if isinstance(store, Store):
        path = store.runs_dir / run_id / "envelope.json"
        if "/" not in run_id and not run_id.startswith(".") and path.is_file():
            loaded: JSON = json.loads(path.read_text(encoding="utf-8"))
            return loaded
    envelope: JSON = store.envelope(run_id)
    return envelope


def run_detail(store: Any, run_id: str) -> JSON:
    """Envelope, system, memory timeline, errors, results and a summary of the per-sample records of one run."""
    resolved = store.resolve(run_id)
    envelope = store.envelope(resolved)
    samples = store.samples(resolved)
    tasks: dict[str, JSON] = {}
    for sample in samples:
        entry = tasks.setdefault(str(sample.get("task") or ""), {"task": str(sample.get("task") or ""), "n": 0, "errors": 0, "scored": 0, "score_sum": 0.0})
        entry["n"] += 1
        entry["errors"] += 1 if sample.get("error") else 0
        score = _plain(sample.get("score"))
        if isinstance(score, (int, float)):
            entry["scored"] += 1
            entry["score_sum"] += float(score)
    summary = [
        {"task": t["task"], "n": t["n"], "errors": t["errors"], "mean_score": t["score_sum"] / t["scored"] if t["scored"] else None}
        for t in tasks.values()
    ]
    peaks = [
        {"name": r["name"], "peak_rss_mb": r["peak_rss_mb"]} for r in envelope.get("results", []) if "peak_rss_mb" in r
    ]
    return {
        "run_id": resolved,
        "envelope": envelope,
        "system": envelope.get("system", {}),
        "memory": envelope.get("memory_snapshots", []),
        "peak_rss": peaks,
        "errors": envelope.get("errors", []),
        "results": [{**r, "title": result_label(*result_name(r))} for r in envelope.get("results", [])],
        "samples": {"total": len(samples), "columns": _columns(samples), "tasks": summary},
    }


def _columns(samples: list[JSON]) -> list[str]:
    columns: list[str] = []
    for sample in samples:
        columns += [key for key in sample if key not in columns and key != "run_id"]
    return columns


def _matches(sample: JSON, query: str, task: str | None, status: str) -> bool:
    if task and str(sample.get("task") or "") != task:
        return False
    score = _plain(sample.get("score"))
    if status == "error" and not sample.get("error"):
        return False
    # "incorrect" is a score of zero (or False); partial credit counts as correct
    if status == "incorrect" and not (isinstance(score, (int, float)) and not score):
        return False
    if status == "correct" and not (isinstance(score, (int, float)) and score > 0):
        return False
    if query:
        needle = query.lower()
        return any(needle in str(value).lower() for value in sample.values() if isinstance(value, str))
    return True


def sample_page(
    store: Any, run_id: str, *, offset: int = 0, limit: int = 50, query: str = "", task: str | None = None, status: str = "all"
) -> JSON:
    """One page of a run's per-sample records with prompts and model outputs, filtered by text, task and status."""
    if status not in SAMPLE_STATUSES:
        status = "all"
    samples = store.samples(run_id)
    chosen = [s for s in samples if _matches(s, query, task, status)]
    offset, limit = max(0, int(offset)), max(1, min(MAX_PAGE, int(limit)))
    page = [{k: _plain(v) for k, v in s.items() if k != "run_id"} for s in chosen[offset : offset + limit]]
    return {"total": len(samples), "matched": len(chosen), "offset": offset, "limit": limit, "samples": page}


def compare(store: Any, run_a: str, run_b: str) -> JSON:
    """Baseline ``run_a`` and candidate ``run_b``: every shared (name, metric) with both values and a verdict."""
    comparison = compare_runs(store, run_a, run_b)
    data: JSON = comparison.to_json()
    for key, run_id in (("envelope_a", comparison.run_a), ("envelope_b", comparison.run_b)):
        envelope = store.envelope(run_id)
        data[key] = {k: envelope.get(k) for k in ("suite", "model", "timestamp", "git_sha", "quantization")}
    for row in data["rows"]:
        for field in ("a", "b", "abs_change", "rel_change", "ci_low", "ci_high", "p_value"):
            row[field] = _plain(row[field])
    return data

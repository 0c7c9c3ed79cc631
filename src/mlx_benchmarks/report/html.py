"""``mlx-bench report --html``: one self-contained HTML file with every view, charts included, no network.

The data is embedded as JSON and drawn by the same JavaScript the dashboard uses; charts are drawn as inline
SVG by ``svgplot.js`` (a few kB) instead of the 4.8 MB plotly.js bundle, which keeps a 100-run report far
under 1 MB. A script nonce in the page's Content-Security-Policy means that even a string
that slipped into markup could neither run script nor fetch anything.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlx_benchmarks.envelope import value_errors
from mlx_benchmarks.errors import BenchError, StoreError, UsageError
from mlx_benchmarks.redact import redact_text
from mlx_benchmarks.report.assets import inline_json, inline_script, static_text
from mlx_benchmarks.report.run_charts import sweep_points
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import NO_FILTERS, Filters, ViewSource, catalog, leaderboard, pivot, run_list, trend
from mlx_benchmarks.views.detail import read_envelope

JSON = dict[str, Any]
MAX_TRENDS_PER_SUITE = 8
MAX_TREND_CANDIDATES = 40  # metrics looked at per suite to find those with long enough series
MAX_RUNS = 200
MAX_ERRORS_PER_RUN = 5
MIN_TREND_POINTS = 3  # fewer points draw no trend, only a dot: such series stay in the leaderboard and run tables
MAX_SWEEPS = 3
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON: null instead (a view's statistic over too few values, say)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _envelope(store: Any, run_id: str, skipped: dict[str, str]) -> JSON:
    """The run's envelope, or {} with the shard named in ``skipped`` when it cannot be read (or holds NaN)."""
    if run_id in skipped:
        return {}
    try:
        envelope = read_envelope(store, run_id)
        if value_errors(envelope):
            raise ValueError("it holds NaN, Infinity or over-deep nesting")
    except (OSError, ValueError, RecursionError, BenchError) as exc:
        skipped[run_id] = f"envelope.json unreadable: {str(exc)[:200]}"
        return {}
    return envelope


def _memory(store: Any, boards: list[JSON], skipped: dict[str, str]) -> list[JSON]:
    """Memory snapshots of each model's latest run per suite, from the envelopes."""
    out = []
    for board in boards:
        for row in board["rows"]:
            snapshots = _envelope(store, row["run_id"], skipped).get("memory_snapshots", [])
            peak = max((float(s["rss_gb"]) for s in snapshots), default=None)
            out.append({"model": row["model"], "suite": board["suite"], "run_id": row["run_id"], "snapshots": snapshots, "peak_gb": peak})
    return out


def _long_series(view: JSON) -> JSON | None:
    """The trend with only its series of at least MIN_TREND_POINTS runs; None when none is left."""
    series = [s for s in view["series"] if len(s["points"]) >= MIN_TREND_POINTS]
    return {**view, "series": series} if series else None


def _sweeps(store: Any, runs: list[JSON], skipped: dict[str, str]) -> list[JSON]:
    """The newest runs with rate levels (``--rates`` or ``--sweep``): offered vs achieved and latency per rate."""
    out: list[JSON] = []
    for run in runs:
        if len(out) >= MAX_SWEEPS:
            break
        if run.get("suite") != "throughput" or run.get("skipped"):
            continue
        points = sweep_points(_envelope(store, run["run_id"], skipped).get("results", []))
        if len(points) >= 2:
            out.append({"run_id": run["run_id"], "model": run["model"], "timestamp": run["timestamp"], "points": points})
    return out


def report_data(store: Any, location: str, filters: Filters = NO_FILTERS) -> JSON:
    """Everything the report shows, as JSON-ready data; UsageError when no stored run matches."""
    source = ViewSource(store)
    cat = catalog(source, filters)
    if not cat["n_runs"]:
        scope = " and ".join(f"--{k} {v}" for k, v in (("suite", filters.suite), ("model", filters.model)) if v)
        raise UsageError(f"no stored runs in {location}" + (f" match {scope}" if scope else ""))
    boards = leaderboard(source, filters)
    trends, pivots = [], []
    for suite in cat["suites"]:
        shown = 0
        for key in suite["metrics"][:MAX_TREND_CANDIDATES]:
            kept = _long_series(trend(source, suite["suite"], key["name"], key["metric"], filters))
            if kept is not None and shown < MAX_TRENDS_PER_SUITE:
                trends.append(kept)
                shown += 1
        table = pivot(source, suite["suite"], filters=filters)
        if table["rows"]:
            pivots.append(table)
    runs = run_list(source, filters, limit=MAX_RUNS)
    skipped = source.skipped  # shards the index could not read; envelopes that fail below join them
    errors = [
        {"run_id": r["run_id"], "errors": _envelope(store, r["run_id"], skipped).get("errors", [])[:MAX_ERRORS_PER_RUN]}
        for r in runs["runs"]
        if r["n_errors"]
    ]
    memory = _memory(store, boards, skipped)
    sweeps = _sweeps(store, runs["runs"], skipped)
    return {
        "generated": datetime.now(UTC).isoformat(),
        "store": location,
        "filters": {"suite": filters.suite, "model": filters.model},
        "catalog": cat,
        "leaderboards": boards,
        "trends": trends,
        "sweeps": sweeps,
        "pivots": pivots,
        "memory": memory,
        "runs": runs["runs"],
        "runs_total": runs["total"],
        "runs_errors": errors,
        "skipped_shards": [{"run_id": k, "reason": v} for k, v in sorted(skipped.items())],
    }


def render_report(data: JSON, title: str = "mlx-bench report") -> str:
    """The whole HTML document for ``data``."""
    parts = {
        "TITLE": html.escape(title),
        "NONCE": secrets.token_urlsafe(16),
        "STYLE": static_text("style.css"),
        "DATA": inline_json(json.dumps(json_safe(data), default=str, allow_nan=False)),
        "SVGPLOT_JS": inline_script(static_text("svgplot.js")),
        "RENDER_JS": inline_script(static_text("render.js")),
        "REPORT_JS": inline_script(static_text("report.js")),
    }
    # one pass over the template: text pasted in (plotly.js, the data) is never scanned for placeholders
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], static_text("report.html"))


def write_report(store: Any, location: str, output: Path, filters: Filters = NO_FILTERS, title: str | None = None) -> JSON:
    """Build and atomically write the report; a failure leaves no file (and no old file half-replaced)."""
    if isinstance(store, Store) and not store.runs_dir.is_dir():
        raise StoreError(f"no results store at {location} (no runs/ folder)")
    output = Path(output)
    if output.is_dir():
        raise UsageError(f"--html {output} is a directory; give a file name")
    if not output.parent.is_dir():
        raise UsageError(f"--html {output}: folder {output.parent} does not exist")
    data = report_data(store, location, filters)
    # redacted as a whole: a store written by an older version or another tool may hold a credential
    document = redact_text(render_report(data, title or "mlx-bench report"))
    try:
        _replace_file(output, document.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    return data


def _replace_file(path: Path, data: bytes) -> None:
    """Write beside ``path`` and rename over it; unlike mkstemp's 0600 the file gets the usual umask mode."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)

"""Capability comparison: one suite on several targets, one envelope each, and a side-by-side table.

Targets run one after another, so no two runs share a machine while one is being timed. With
``--parallel-targets`` the HTTP targets run together after the local ones (the embedded model, ``mlx:``,
``--serve``, ``py:``, which always take turns), except for a speed suite on loopback targets: two servers on
one machine would share its GPU while each is timed, so those still run in turn, and the console says so.
Each target's run stores the suite's
own envelope and a ``capability-comparison`` envelope whose results mirror it, tagged with
``underlying_suite``, ``target`` and the ``comparison`` key that groups the targets of one command.
"""

from __future__ import annotations

import asyncio
import copy
import io
import ipaddress
import json
import math
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from mlx_benchmarks.aio import run_coroutine
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.errors import EXIT_FAILURE, BenchError
from mlx_benchmarks.runner.execute import Runner, RunReport, RunRequest
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets.credentials import redact_text

COMPARISON_SUITE = "capability-comparison"
SPEED_SUITES = frozenset({"throughput", "ttft"})  # timed: never two at once on one machine
Z95 = 1.959964


@dataclass
class TargetRun:
    """One target's part of a comparison: its report, or why it has none."""

    label: str
    request: RunRequest
    report: RunReport | None = None
    comparison_run_id: str | None = None
    error: str | None = None
    exit_code: int = 0


def is_remote(request: RunRequest) -> bool:
    """HTTP targets we did not start ourselves; everything else holds a model on this machine."""
    spec = request.spec
    return spec.serve is None and bool(spec.target) and str(spec.target).startswith(("http://", "https://"))


def is_loopback(request: RunRequest) -> bool:
    """An HTTP target on this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(str(request.spec.target)).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_run_together(request: RunRequest) -> bool:
    """Whether ``--parallel-targets`` may run this target alongside others."""
    return is_remote(request) and not (request.suite in SPEED_SUITES and is_loopback(request))


def labels_for(requests: Sequence[RunRequest], labels: Sequence[str] | None = None) -> list[str]:
    """Column names: given labels, else each target's spec label, made unique."""
    out: list[str] = []
    for index, request in enumerate(requests):
        base = redact_text(labels[index] if labels and index < len(labels) else request.spec.label)
        if request.spec.model and not labels:
            base = f"{base} ({request.spec.model})"
        name, n = base, 2
        while name in out:
            name, n = f"{base} #{n}", n + 1
        out.append(name)
    return out


def comparison_envelope(envelope: dict[str, Any], *, label: str, comparison: str, run_id: str) -> dict[str, Any]:
    """The ``capability-comparison`` twin of one target's envelope."""
    twin = copy.deepcopy(envelope)
    twin["suite"] = COMPARISON_SUITE
    for result in twin["results"]:
        result.setdefault("tags", {}).update(
            underlying_suite=envelope["suite"], target=label, comparison=comparison, underlying_run=run_id)
    return twin


async def _one(runner: Runner, target: TargetRun) -> None:
    try:
        target.report = await runner.run(target.request)
    except BenchError as exc:
        target.error, target.exit_code = redact_text(str(exc)), exc.exit_code
    except Exception as exc:  # one target's crash must not lose the others' runs
        target.error, target.exit_code = redact_text(f"{type(exc).__name__}: {exc}"), EXIT_FAILURE


async def run_targets(store: Store, requests: Sequence[RunRequest], console: Console,
                      labels: Sequence[str] | None = None, *, parallel: bool = False) -> list[TargetRun]:
    """Run every request one after another (or, when ``parallel``, those that may run together at once)
    and store the comparison twins."""
    comparison = f"cmp-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    runs = [TargetRun(label, request) for label, request in zip(labels_for(requests, labels), requests, strict=True)]
    remote = [r for r in runs if may_run_together(r.request)] if parallel else []
    if parallel and len(remote) < sum(1 for r in runs if is_remote(r.request)):
        console.print("--parallel-targets: speed suites on loopback targets still run one after another "
                      "(they would share this machine while being timed)", markup=False)
    if len(remote) < 2:
        remote = []
    for run in (r for r in runs if r not in remote):
        console.print(f"[{run.label}] {run.request.suite} (one target at a time)", markup=False)
        await _one(Runner(store, console), run)
    if remote:
        console.print(f"{len(remote)} remote target(s) in parallel: " + ", ".join(r.label for r in remote), markup=False)
        # parallel runs get a silent console each: rich allows one live progress display at a time
        await asyncio.gather(*(_one(Runner(store, Console(file=io.StringIO())), r) for r in remote))
    for run in runs:
        if run.report is None:
            console.print(f"[{run.label}] failed: {run.error}", markup=False)
            continue
        twin = comparison_envelope(run.report.envelope, label=run.label, comparison=comparison,
                                   run_id=run.report.stored.run_id)
        validate(twin)
        run.comparison_run_id = store.put(twin).run_id
    return runs


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` over ``n`` trials."""
    if n <= 0:
        return (0.0, 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def interval(result: dict[str, Any]) -> tuple[float, float] | None:
    """95% interval: Wilson for ratios with a sample count, else value ± 1.96 stderr, else None."""
    tags = result.get("tags") or {}
    value = float(result["value"])
    try:
        n = int(tags["n_samples"]) if "n_samples" in tags else 0
        stderr = float(tags["stderr"]) if "stderr" in tags else None
    except ValueError:
        return None
    if result.get("unit") == "ratio" and 0.0 <= value <= 1.0 and n > 0:
        return wilson(value, n)
    if stderr is not None and stderr > 0:
        return (value - Z95 * stderr, value + Z95 * stderr)
    return None


def score_cell(result: dict[str, Any]) -> str:
    ci = interval(result)
    value = float(result["value"])
    return f"{value:.3g} [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else f"{value:.4g}"


def speed_cell(result: dict[str, Any]) -> str:
    if result.get("decode_tokens_per_second"):
        return f"{float(result['decode_tokens_per_second']):.1f} tok/s"
    if result.get("first_token_latency_ms"):
        return f"{float(result['first_token_latency_ms']):.0f} ms"
    if result.get("duration_seconds"):
        return f"{float(result['duration_seconds']):.2f} s"
    return "-"


def peak_rss_mb(envelope: dict[str, Any]) -> float | None:
    """The run's peak RSS: the ``peak`` memory snapshot, else the largest per-result value."""
    peaks = [float(m["rss_gb"]) * 1024 for m in envelope.get("memory_snapshots", []) if m.get("phase") == "peak"]
    peaks += [float(r["peak_rss_mb"]) for r in envelope.get("results", []) if r.get("peak_rss_mb") is not None]
    return max(peaks) if peaks else None


def side_by_side(runs: Sequence[TargetRun], title: str | None = None) -> Table:
    """Per task and metric: each target's score with its 95% interval and its speed; peak RSS last.
    ``title``: what a sweep names this run by (its matrix values)."""
    envelopes = {r.label: r.report.envelope for r in runs if r.report is not None}
    suite = next((e["suite"] for e in envelopes.values()), "?")
    table = Table(title=f"{COMPARISON_SUITE} · {title or suite}")
    table.add_column("task")
    table.add_column("metric")
    for label in envelopes:
        table.add_column(f"{label}\nscore [95% CI]")
        table.add_column(f"{label}\nspeed")
    keys: list[tuple[str, str]] = []
    for envelope in envelopes.values():
        keys.extend(k for k in ((r["name"], r["metric"]) for r in envelope["results"]) if k not in keys)
    for name, metric in keys:
        cells = []
        for envelope in envelopes.values():
            found = next((r for r in envelope["results"] if (r["name"], r["metric"]) == (name, metric)), None)
            cells += [score_cell(found), speed_cell(found)] if found else ["-", "-"]
        table.add_row(name, metric, *cells)
    memory = []
    for envelope in envelopes.values():
        peak = peak_rss_mb(envelope)
        memory += [f"{peak:.0f} MB" if peak is not None else "-", ""]
    table.add_row("(run)", "peak RSS", *memory)
    return table


def run_many(store: Store, requests: Sequence[RunRequest], console: Console, *, as_json: bool = False,
             labels: Sequence[str] | None = None, parallel: bool = False, title: str | None = None) -> int:
    """``mlx-bench run SUITE --target A --target B ...``: run, store, print the table; exit code."""
    runs = run_coroutine(run_targets(store, requests, console, labels, parallel=parallel))
    if as_json:
        sys.stdout.write(json.dumps([{
            "target": r.label, "suite": r.request.suite, "error": r.error,
            "run_id": r.report.stored.run_id if r.report else None, "comparison_run_id": r.comparison_run_id,
            "envelope": r.report.envelope if r.report else None} for r in runs], indent=2) + "\n")
    else:
        console.print(side_by_side(runs, title))
        for run in runs:
            where = f"stored {run.report.stored.run_id} + {run.comparison_run_id}" if run.report else f"error: {run.error}"
            console.print(f"{run.label}: {where}", markup=False)
    failed = [r.exit_code for r in runs if r.error]
    return failed[0] if failed else 0

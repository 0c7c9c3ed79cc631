"""``mlx-bench runs`` and ``mlx-bench show``: browse the store."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from rich.table import Table

from mlx_benchmarks.cli.common import add_store_option, console, open_store, print_json
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.query import list_runs


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="list stored runs")
    add_store_option(runs)
    runs.add_argument("--suite")
    runs.add_argument("--model", help="exact model name or a case-insensitive substring")
    runs.add_argument("--since", metavar="DATE", help="ISO date or date-time, e.g. 2026-11-01")
    runs.add_argument("--limit", type=int, default=None)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=run_runs)

    show = subparsers.add_parser("show", help="print one stored run's envelope")
    add_store_option(show)
    show.add_argument("run", metavar="RUN", help="run id or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="print the envelope JSON only")
    show.set_defaults(func=run_show)


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {value!r} is not an ISO date such as 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def run_runs(args: argparse.Namespace) -> int:
    rows = list_runs(open_store(args), suite=args.suite, model=args.model, since=parse_since(args.since), limit=args.limit)
    if args.json:
        print_json([{**row, "timestamp": row["timestamp"].isoformat()} for row in rows])
        return 0
    table = Table(title=f"{len(rows)} runs")
    for column in ("id", "timestamp", "suite", "model", "results", "errors"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = "skipped" if row["skipped"] else str(row["n_results"])
        table.add_row(row["id"], row["timestamp"].strftime("%Y-%m-%d %H:%M:%S"), row["suite"], row["model"], status, str(row["n_errors"]))
    console().print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    envelope = store.envelope(args.run)
    if args.json:
        sys.stdout.write(json.dumps(envelope, indent=2) + "\n")
        return 0
    out = console()
    out.print(f"[bold]{store.resolve(args.run)}[/bold]")
    out.print(f"suite {envelope['suite']}  model {envelope['model']}  at {envelope['timestamp']}  git {envelope['git_sha']}")
    table = Table()
    for column in ("name", "metric", "value", "unit", "tags"):
        table.add_column(column, overflow="fold")
    for result in envelope["results"]:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(result.get("tags", {}).items()))
        table.add_row(result["name"], result["metric"], f"{result['value']:.6g}", result["unit"], tags)
    out.print(table)
    for error in envelope.get("errors", []):
        out.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
    return 0

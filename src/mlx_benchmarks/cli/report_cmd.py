"""``mlx-bench report --html FILE``: write the self-contained HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, open_store, store_location
from mlx_benchmarks.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="write a self-contained HTML report (charts inlined, no network)")
    add_store_option(parser)
    parser.add_argument("--html", metavar="FILE", type=Path, help="where to write the report")
    parser.add_argument("--suite", help="only this suite")
    parser.add_argument("--model", help="exact model name or a case-insensitive substring")
    parser.add_argument("--title", default=None, help="page title (default: mlx-bench report)")
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from mlx_benchmarks.report import write_report
    from mlx_benchmarks.views import Filters

    if args.html is None:
        raise UsageError("report needs --html FILE (the only format so far)")
    location = store_location(args)
    data = write_report(open_store(args), location, args.html, Filters(suite=args.suite, model=args.model), args.title)
    console().print(
        f"wrote {args.html}: {data['catalog']['n_runs']} runs, {len(data['catalog']['models'])} models, "
        f"{len(data['leaderboards'])} suites",
        markup=False,
    )
    for shard in data["skipped_shards"]:  # a bad shard is left out, not fatal to the whole report
        sys.stderr.write(f"mlx-bench: warning: skipped shard {shard['run_id']}: {shard['reason']}\n")
    return 0

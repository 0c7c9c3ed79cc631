"""Shared CLI helpers: the store option, JSON output, the console."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from mlx_benchmarks.paths import default_store_root, is_remote, use_store_root

if TYPE_CHECKING:  # rich is imported by the commands that print, not by `mlx-bench --help`
    from rich.console import Console


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR|URL",
        default=None,
        help="results store (default: $MLX_BENCH_STORE, else $XDG_DATA_HOME/mlx-benchmarks)",
    )
    parser.add_argument("--share-mode", action="store_true",
                        help="make the store readable by its folder's group (default: private, 0600/0700)")


def store_location(args: argparse.Namespace, *, writing: bool = False) -> str:
    """The store's folder or URL; ``writing`` refuses a folder in the upstream layout (read-only here).

    A local store also becomes the home of the cache (converted models, extracted datasets), so that
    ``--store DIR`` keeps a whole installation in DIR, as ``MLX_BENCH_STORE`` does.
    """
    location: str = args.store or default_store_root()
    if not is_remote(location):
        import os

        if os.path.exists(location) and not os.path.isdir(location):
            from mlx_benchmarks.errors import UsageError

            raise UsageError(f"--store {location}: not a folder (a store is a directory, or s3:// / hf:// URL)")
        use_store_root(location)
        if getattr(args, "share_mode", False):
            share_store(location)
    if writing:
        from mlx_benchmarks.lake.upstream_store import local_is_upstream

        if local_is_upstream(location):
            from mlx_benchmarks.errors import UsageError

            raise UsageError(f"{location} holds the upstream layout (data/*.parquet), which mlx-bench only reads; "
                             "store runs elsewhere and publish them with --layout upstream")
    return location


def share_store(location: str) -> None:
    """``--share-mode``: the store's folder (made if need be) becomes group-readable, and so does every shard
    written into it from now on (``store.share_modes``)."""
    import os

    from mlx_benchmarks.errors import UsageError

    try:
        os.makedirs(location, exist_ok=True)
        os.chmod(location, os.stat(location).st_mode | 0o050)
    except OSError as exc:
        raise UsageError(f"--share-mode: cannot open {location} to its group: {exc.strerror or exc}") from None


def open_store(args: argparse.Namespace) -> Any:
    """A local Store, a read-only remote lake view (s3://, hf://), or the seed's flat layout (data/*.parquet),
    alone or beside runs/ as one history."""
    from mlx_benchmarks.lake.history import open_read_store

    return open_read_store(store_location(args))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def console() -> Console:
    """stdout console; progress and tables go here, errors go to stderr."""
    from rich.console import Console

    return Console(highlight=False)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)

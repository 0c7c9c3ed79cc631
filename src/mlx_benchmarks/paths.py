"""Where the store and the local cache live."""

from __future__ import annotations

import os
from pathlib import Path

# the store this process was told to use (``--store``); the cache follows it, as it follows MLX_BENCH_STORE
_chosen_store: str | None = None


def use_store_root(location: str | None) -> None:
    """Make ``location`` (a local store folder) the root of ``cache_dir()`` for this process; None forgets it."""
    global _chosen_store
    _chosen_store = location


def default_store_root(env: dict[str, str] | None = None) -> str:
    """``MLX_BENCH_STORE``, else ``$XDG_DATA_HOME/mlx-benchmarks``, else ``~/.local/share/mlx-benchmarks``."""
    env = dict(os.environ) if env is None else env
    if env.get("MLX_BENCH_STORE"):
        return env["MLX_BENCH_STORE"]
    xdg = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(xdg) / "mlx-benchmarks")


def is_remote(location: str) -> bool:
    """True for lake URLs such as ``s3://bucket/prefix`` or ``hf://datasets/org/name``."""
    return "://" in location and not location.startswith("file://")


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """Local cache for converted models and extracted datasets (``MLX_BENCH_CACHE`` overrides).

    It sits under the local store (``--store``, then ``MLX_BENCH_STORE``), so one store directory holds a
    whole installation; a remote store keeps its cache in the default local location.
    """
    env = dict(os.environ) if env is None else env
    if env.get("MLX_BENCH_CACHE"):
        return Path(env["MLX_BENCH_CACHE"])
    root = _chosen_store or default_store_root(env)
    if is_remote(root):
        root = default_store_root({k: v for k, v in env.items() if k != "MLX_BENCH_STORE"})
    return Path(root) / "cache"

"""Make a store of N runs for benchmarks/startup_listing.py: copies of a real throughput run, one a minute.

Usage: python benchmarks/startup_store.py PATH [--runs 1000]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlx_benchmarks.store import Store

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "cli" / "fixtures" / "throughput_grid.json"


def build(path: Path, runs: int) -> Store:
    """A store at ``path`` holding ``runs`` runs (kept when it already holds that many)."""
    store = Store(path)
    have = len(store.run_ids()) if (path / "runs").is_dir() else 0
    envelope = json.loads(FIXTURE.read_text(encoding="utf-8"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(have, runs):
        copy = dict(envelope, timestamp=(start + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        store.put(copy)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=1000)
    options = parser.parse_args()
    build(options.path, options.runs)
    print(f"{options.path}: {options.runs} runs")


if __name__ == "__main__":
    main()

"""Time the dashboard's leaderboard over a store of 10,000 runs: straight DuckDB globs vs the shard index.

    .venv/bin/python benchmarks/leaderboard_10k.py [--runs 10000] [--store DIR] [--keep]

Builds the store through ``Store.put`` (skipped when DIR already holds the runs), then times:

- glob:        DuckDB ``read_parquet`` over every shard, as a remote lake is read (no index)
- cold build:  a fresh process-level index with no ``.index/`` on disk (reads every shard once)
- cold load:   a fresh index adopting the persisted ``.index/`` (what a restarted dashboard pays)
- warm:        the same index again, no new shard (every dashboard request pays this)
- one new run: after one more ``Store.put``, which must show up at once
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlx_benchmarks.envelope import Envelope, MemorySnapshot, Result
from mlx_benchmarks.index import INDEX_DIR
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import Filters, ViewSource, leaderboard

SYSTEM = {"os": "macOS 15.3.2", "chip": "Apple M4 Max", "memory_gb": 128}
START = datetime(2026, 1, 1, tzinfo=UTC)


class GlobOnly:
    """The store seen only through its globs, the way a remote lake is queried."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def glob(self, table: str) -> str:
        return self._store.glob(table)

    def has_table(self, table: str) -> bool:
        return self._store.has_table(table)

    def connect(self) -> Any:
        return self._store.connect()


def envelope(i: int, models: int) -> dict[str, Any]:
    model, suite = f"org/model-{i % models:03d}-4bit", ("throughput", "reasoning")[(i // models) % 2]
    when = START + timedelta(minutes=17 * i)
    if suite == "throughput":
        results = [
            Result("decode_tps", "throughput", 30.0 + (i % 97), "tok/s").tag(concurrency=1),
            Result("ttft_p50", "latency", 100.0 + (i % 13), "ms"),
        ]
    else:
        results = [Result(t, "accuracy", ((i * 7 + k) % 100) / 100, "ratio").tag(n=100) for k, t in enumerate(("gsm8k", "arc", "mmlu"))]
    return Envelope(
        suite=suite, model=model, system=dict(SYSTEM), git_sha=f"{0xABC0000 + i:x}",
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"), results=results,
        memory_snapshots=[MemorySnapshot("peak", 5.0 + i % 3)],
    ).validated()


def fill(store: Store, runs: int, models: int) -> float:
    have = len(store.run_ids())
    started = time.perf_counter()
    for i in range(have, runs):
        store.put(envelope(i, models))
        if i and i % 1000 == 0:
            print(f"  stored {i} runs", file=sys.stderr)
    return time.perf_counter() - started


CPU: list[float] = []  # CPU seconds of the last timed() call, beside the wall time (the machine may be shared)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall seconds of ``repeat`` calls; the median CPU seconds (all threads) goes to ``CPU``."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    CPU[:] = [statistics.median(cpu)]
    return statistics.median(times), result


def ms(wall: float) -> str:
    return f"{wall * 1000:9.1f} ms wall {CPU[0] * 1000:9.1f} ms CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--store", type=Path, default=None, help="reuse or create this store (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--skip-glob", action="store_true", help="do not time the (slow) glob-only path")
    args = parser.parse_args()
    root = args.store or Path(tempfile.mkdtemp(prefix="leaderboard10k-"))
    store = Store(root)
    try:
        print(f"store {root}: filling to {args.runs} runs ...", file=sys.stderr)
        fill_s = fill(store, args.runs, args.models)
        shutil.rmtree(root / INDEX_DIR, ignore_errors=True)
        n_runs = len(store.run_ids())
        lines = [f"runs stored: {n_runs} ({args.models} models x 2 suites); filling took {fill_s:.1f} s"]
        if not args.skip_glob:
            glob_s, boards = timed(lambda: leaderboard(ViewSource(GlobOnly(store))))
            lines.append(f"glob (no index, one request):      {ms(glob_s)}  rows={sum(len(b['rows']) for b in boards)}")
        cold_s, boards = timed(lambda: leaderboard(ViewSource(store)))
        lines.append(f"cold build (no .index on disk):    {ms(cold_s)}  rows={sum(len(b['rows']) for b in boards)}")
        load_s, _ = timed(lambda: leaderboard(ViewSource(store)), repeat=3)
        lines.append(f"cold load (persisted .index):      {ms(load_s)}")
        source = ViewSource(store)
        leaderboard(source)
        warm_s, _ = timed(lambda: leaderboard(source), repeat=10)
        lines.append(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        lines.append(f"warm (median of 10 requests):      {ms(warm_s)}")
        filtered_s, _ = timed(lambda: leaderboard(source, Filters(suite="throughput")), repeat=10)
        lines.append(f"warm, --suite throughput:          {ms(filtered_s)}")
        store.put(envelope(1_000_000 + n_runs, args.models))  # a new id on every invocation
        new_s, boards = timed(lambda: leaderboard(source))
        newest = max(row["timestamp"] for b in boards for row in b["rows"])
        lines.append(f"after one new run (incremental):   {ms(new_s)}  newest={newest}")
        print("\n".join(lines))
        print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        return 0 if warm_s < 1.0 and new_s < 1.0 else 1
    finally:
        if args.store is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""How far past its memory limit a program gets on the polled path (macOS's only path), measured on Linux.

The polled watch (``sandbox.watch.ProcessWatch``, the code a Mac runs, with RSS standing in for the
footprint) watches a program that allocates and touches memory as fast as it can, in chunks of
``--chunk-mb``. A memory cgroup with no real limit is the meter: its kernel-counted peak is how much
the program really held before the watch killed it. Overshoot = peak - limit.

    python benchmarks/sandbox_memory_overshoot.py --limit-mb 256 --chunk-mb 1 16 64 --trials 5

Needs a memory cgroup this process may create (root here). With a cgroup limit (the default on Linux)
there is no overshoot to measure: the kernel refuses the first page past the limit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from mlx_benchmarks.sandbox.memory import program_cgroup
from mlx_benchmarks.sandbox.watch import ProcessWatch, new_token

MB = 2**20
HOG = ("import sys\nchunk = int(sys.argv[1]) << 20\nheld = []\n"
       "while True:\n    held.append(b'h' * chunk)\n")


def one(limit_mb: int, chunk_mb: int, poll_s: float) -> dict[str, float]:
    meter = program_cgroup(64 * 1024 * MB)  # a limit nothing reaches: only the peak is wanted
    if meter is None:
        raise SystemExit("no memory cgroup can be created here (needs root or a delegated cgroup v2 subtree)")
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(meter.wrap([sys.executable, "-c", HOG, str(chunk_mb)]), start_new_session=True)
        with ProcessWatch(proc.pid, token=new_token(), memory_bytes=limit_mb * MB, poll_s=poll_s) as watch:
            proc.wait(timeout=120)
        elapsed = time.perf_counter() - started
        watch.sweep()
        peak = meter.peak_bytes() or 0
    finally:
        meter.remove()
    return {"peak_mb": peak / MB, "overshoot_mb": peak / MB - limit_mb, "seconds": elapsed,
            "rate_mb_s": peak / MB / elapsed, "killed": float(watch.over_limit is not None)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-mb", type=int, default=256)
    parser.add_argument("--chunk-mb", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--poll-ms", type=float, nargs="+", default=[10.0, 50.0])
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    print("command: python benchmarks/sandbox_memory_overshoot.py " + " ".join(sys.argv[1:]))
    rows = []
    for poll_ms in args.poll_ms:
        for chunk in args.chunk_mb:
            runs = [one(args.limit_mb, chunk, poll_ms / 1000) for _ in range(args.trials)]
            over = [r["overshoot_mb"] for r in runs]
            rows.append({"poll_ms": poll_ms, "chunk_mb": chunk, "limit_mb": args.limit_mb,
                         "overshoot_mb_median": round(statistics.median(over), 1),
                         "overshoot_mb_max": round(max(over), 1),
                         "alloc_rate_mb_s": round(statistics.median(r["rate_mb_s"] for r in runs)),
                         "all_killed": all(r["killed"] for r in runs)})
            print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long ``mlx-bench --help`` takes against the floor of any argparse CLI: ``python -c "import argparse"``.

Each command runs N times in a fresh interpreter (the installed entry point's own interpreter); the median
wall time of each is printed, with their ratio and the command lines that produced them. The goal is a ratio
within 4x. Heavy modules (pyarrow, DuckDB, jsonschema, rich, aiohttp, numpy, plotly) must not load for
``--help``; tests/cli/test_cli_startup.py asserts that without timing anything.

Usage: python benchmarks/cli_startup.py [--runs 20] [--args "--help"]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    parser.add_argument("--args", default="--help", help="arguments to mlx-bench (default --help)")
    options = parser.parse_args()
    entry = Path(sys.executable).with_name("mlx-bench")
    cli = [str(entry)] if entry.is_file() else [sys.executable, "-m", "mlx_benchmarks.cli.main"]
    floor = [sys.executable, "-c", "import argparse"]
    ours = [*cli, *shlex.split(options.args)]
    median_seconds(ours, 2)  # warm the file cache and byte-code first
    base = median_seconds(floor, options.runs)
    ours_s = median_seconds(ours, options.runs)
    print(f"{shlex.join(floor)}: {base * 1e3:.1f} ms (median of {options.runs})")
    print(f"{shlex.join(ours)}: {ours_s * 1e3:.1f} ms (median of {options.runs})")
    print(f"ratio: {ours_s / base:.2f}x (goal: within 4x)")
    print(f"command: python benchmarks/cli_startup.py --runs {options.runs} --args {shlex.quote(options.args)}")


if __name__ == "__main__":
    main()

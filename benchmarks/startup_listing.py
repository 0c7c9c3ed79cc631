"""How long the everyday commands take to start and print on a store of N runs: ``runs``, ``show``,
``run --help`` and ``--help``, against the floor of any Python CLI (``python -c "import argparse"``).

Each command runs ``--runs`` times in a fresh interpreter; the median wall time of each is printed with the
command line that produced it, and which of pandas / pyarrow.dataset it imported (tests/cli/test_runs_listing.py
asserts that `runs` and `show` import neither, without timing anything). The goal is under 0.3 s each on
1,000 runs. The store is built once by benchmarks/startup_store.py (copies of a real throughput run).

Usage: python benchmarks/startup_listing.py [--store /tmp/startup1000] [--store-runs 1000] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup_store import build  # a sibling script

PROBE = ("import sys, runpy; sys.argv = ['mlx-bench', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('mlx_benchmarks.cli.main', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "heavy = [m for m in ('pandas', 'pyarrow.dataset', 'duckdb', 'pyarrow', 'jsonschema') if m in sys.modules]\n"
         "sys.stderr.write('LOADED ' + ' '.join(heavy) + '\\n')\n")


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "COLUMNS": "80"})
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def loaded(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80"})
    return done.stderr.rsplit("LOADED ", 1)[-1].strip() or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/startup1000"))
    parser.add_argument("--store-runs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    options = parser.parse_args()
    store = build(options.store, options.store_runs)
    newest = store.run_ids()[-1]
    entry = Path(sys.executable).with_name("mlx-bench")
    cli = [str(entry)] if entry.is_file() else [sys.executable, "-m", "mlx_benchmarks.cli.main"]
    where = ["--store", str(options.store)]
    commands = {"runs": ["runs", *where], "show": ["show", newest[:24], *where], "run --help": ["run", "--help"],
                "--help": ["--help"]}
    subprocess.run([*cli, *commands["runs"]], check=True, stdout=subprocess.DEVNULL)  # builds the index once
    floor = median_seconds([sys.executable, "-c", "import argparse"], options.runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; store {options.store} ({options.store_runs} runs)")
    floor_label = 'python -c "import argparse"'
    print(f"{floor_label:<32} {floor * 1e3:7.0f} ms")
    for label, args in commands.items():
        seconds = median_seconds([*cli, *args], options.runs)
        print(f"{'mlx-bench ' + label:<32} {seconds * 1e3:7.0f} ms  ({seconds / floor:.1f}x)  loads: {loaded(args)}")
    print(f"median of {options.runs} each; command: python benchmarks/startup_listing.py --store "
          f"{shlex.quote(str(options.store))} --store-runs {options.store_runs} --runs {options.runs}")


if __name__ == "__main__":
    main()

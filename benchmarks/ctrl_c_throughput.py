"""Ctrl-C during a real ``mlx-bench run throughput`` on the embedded model, N times in a row: every one must
exit 130 ("interrupted"), never 134 (MLX's generation thread torn down mid-evaluation at interpreter exit:
"terminate called without an active exception").

One uninterrupted run first measures how long a run takes (D); each try then starts the same run and sends
SIGINT after a uniformly random delay in [0.5 s, D], so the signal lands in start-up, model loading, warm-up,
prefill and decoding alike. A try whose run ended before the signal could be sent is redone (not counted).
Prints each try's delay and exit status, then the tally and the command line.

Usage: python benchmarks/ctrl_c_throughput.py [--tries 50] [--seed 1]
(tests/targets/test_ctrl_c.py runs 10 tries of the same function.)
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

RUN_FLAGS = ("--prompt-lengths", "16,48", "--gen-tokens", "24", "--trials", "2", "--warmup", "1",
             "--git-sha", "abcdef0")
FIRST_DELAY_S = 0.5
# a run that stores its result and exits 0 within this long of the signal was already ending (one that goes
# on measuring for longer ignored the signal: that is counted, as a failure)
ENDING_S = 2.0


def command(store: Path, flags: Sequence[str] = RUN_FLAGS) -> list[str]:
    return [sys.executable, "-m", "mlx_benchmarks.cli.main", "run", "throughput", *flags, "--store", str(store)]


def environment() -> dict[str, str]:
    from mlx_benchmarks.paths import cache_dir

    # the converted embedded model is shared with the default cache, so no try pays the conversion
    return {**os.environ, "MLX_BENCH_CACHE": os.environ.get("MLX_BENCH_CACHE") or str(cache_dir())}


def full_run_seconds(store: Path, flags: Sequence[str] = RUN_FLAGS, timeout: float = 600) -> float:
    """How long one uninterrupted run takes (it must succeed)."""
    started = time.monotonic()
    done = subprocess.run(command(store, flags), env=environment(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.monotonic() - started


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_once(store: Path, delay: float, flags: Sequence[str] = RUN_FLAGS,
                   timeout: float = 300) -> tuple[int, str] | None:
    """Start a run, SIGINT it after ``delay`` s; (exit status, stderr), or None when it ended first."""
    # a shell's background job starts with SIGINT ignored, and children inherit that: restore the default
    process = subprocess.Popen(command(store, flags), env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        time.sleep(delay)
        if process.poll() is not None:
            process.communicate(timeout=timeout)
            return None
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = process.communicate(timeout=timeout)
        if process.returncode == 0 and "stored:" in out and time.monotonic() - sent < ENDING_S:
            return None  # the run had stored its result and was exiting: the signal came too late to stop it
        return process.returncode, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def tries(count: int, seed: int, store: Path, report: bool = False,
          flags: Sequence[str] = RUN_FLAGS) -> list[tuple[float, int, str]]:
    """``count`` interrupted runs at random points: (delay, exit status, stderr) of each."""
    rng = random.Random(seed)
    duration = full_run_seconds(store, flags)
    if report:
        print(f"uninterrupted run: {duration:.1f} s")
    out: list[tuple[float, int, str]] = []
    for _ in range(3 * count):  # bounded: a run that ends before its signal is redone, not forever
        if len(out) == count:
            break
        delay = rng.uniform(FIRST_DELAY_S, duration)
        result = interrupt_once(store, delay, flags)
        if result is None:
            continue
        out.append((delay, *result))
        if report:
            print(f"try {len(out):3d}: SIGINT after {delay:5.2f} s -> exit {result[0]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = tries(options.tries, options.seed, Path(folder) / "store", report=True)
    tally = Counter(code for _, code, _ in results)
    print(f"exit statuses over {len(results)} interrupted runs: {dict(sorted(tally.items()))}")
    print("command: python benchmarks/ctrl_c_throughput.py " + f"--tries {options.tries} --seed {options.seed}")
    print("each run: " + " ".join(command(Path("STORE"))[1:]))
    for delay, code, err in results:
        if code != 130:
            print(f"--- exit {code} after {delay:.2f} s:\n{err[-1500:]}")
    raise SystemExit(0 if set(tally) == {130} else 1)


if __name__ == "__main__":
    main()

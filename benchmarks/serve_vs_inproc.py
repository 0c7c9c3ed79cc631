"""The embedded model measured two ways: through ``--serve mlx`` (mlx_lm.server over loopback HTTP) and in process.

Both runs go through the whole CLI (``mlx-bench run throughput``), one after the other, each storing its
envelope in a temporary store; the table shows what the HTTP server path costs or gains: decode tok/s, TTFT
and peak RSS (the server process's for --serve, ours in process).

Usage: python benchmarks/serve_vs_inproc.py [--prompt-lengths 128] [--gen-tokens 32] [--trials 3] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any


def run(extra: list[str], args: argparse.Namespace, store: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "mlx_benchmarks.cli.main", "run", "throughput", *extra,
            "--prompt-lengths", args.prompt_lengths, "--gen-tokens", args.gen_tokens, "--trials", str(args.trials),
            "--store", store, "--json", "--no-client-check"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(extra) or 'in-process'} failed: {out.stderr.strip()[-400:]}")
    text = out.stdout
    envelope: dict[str, Any] = json.loads(text[text.index("\n{") + 1:] if not text.startswith("{") else text)
    return envelope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-lengths", default="128")
    parser.add_argument("--gen-tokens", default="32")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two ways this many times")
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    with tempfile.TemporaryDirectory() as store:
        for _ in range(args.rounds):
            for label, extra in (("--serve mlx (mlx_lm.server, HTTP)", ["--serve", "mlx"]), ("in process", [])):
                envelope = run(extra, args, store)
                for result in envelope["results"]:
                    rows.append((label, result["name"], result["value"], result.get("first_token_latency_ms"),
                                 result.get("peak_rss_mb"), result["tags"].get("output_tokens"),
                                 result["tags"].get("prompt_tokens")))
    print("\n| way | result | decode tok/s | TTFT ms | peak RSS MB | output tokens | prompt tokens |")
    print("|---|---|---|---|---|---|---|")
    for label, name, value, ttft, rss, out_tokens, prompt in rows:
        print(f"| {label} | {name} | {value:.1f} | {ttft or float('nan'):.1f} | {rss or float('nan'):.0f} | "
              f"{out_tokens} | {prompt} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

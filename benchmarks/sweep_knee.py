"""Where `--sweep` puts the knee against a server whose capacity is set: the calibration server with K slots.

A request holds a slot for its TTFT plus (tokens - 1) x ITL, so K slots serve at most
K / (ttft + (tokens - 1) * itl) requests a second. The sweep should report a sustainable rate just under it.

    python benchmarks/sweep_knee.py --capacity 4 --ttft-ms 40 --itl-ms 10 --gen-tokens 16
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer


def run(args: argparse.Namespace) -> dict[str, float]:
    capacity = args.capacity / ((args.ttft_ms + (args.gen_tokens - 1) * args.itl_ms) / 1000)
    with SpawnedCalibrationServer(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, capacity=args.capacity) as server, \
            tempfile.TemporaryDirectory() as store:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["run", "throughput", "--target", server.url, "--prompt-lengths", "32", "--gen-tokens",
                         str(args.gen_tokens), "--trials", "1", "--sweep", "--arrival", "constant",
                         "--rate-requests", str(args.rate_requests), "--slo", f"ttft_ms={args.slo_ttft_ms:g}",
                         "--store", store, "--json"])
    if code != 0:
        raise SystemExit(f"the sweep run exited {code}")
    results = {r["name"]: r["value"] for r in json.loads(out.getvalue())["results"]}
    knee = results.get("sweep_max_sustainable_rps", 0.0)
    return {"capacity_rps": round(capacity, 2), "knee_rps": round(knee, 2),
            "knee_share_of_capacity": round(knee / capacity, 3),
            "within_slo_rps": round(results.get("sweep_max_rps_within_slo", 0.0), 2)}


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=4)
    parser.add_argument("--ttft-ms", type=float, default=40.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--gen-tokens", type=int, default=16)
    parser.add_argument("--rate-requests", type=int, default=40)
    parser.add_argument("--slo-ttft-ms", type=float, default=100.0)
    args = parser.parse_args()
    print("command: python benchmarks/sweep_knee.py " + " ".join(sys.argv[1:]))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main_cli()

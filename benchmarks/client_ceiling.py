"""Our streaming client against the shared yardstick: req/s, tok/s and CPU ms/request, then timing error.

1. The zero-delay null server (/work/shared/perf/null_server.py) pinned to one core; each client pinned to
   another, 64 requests in flight, N requests of T tokens, median of R runs:
   - the raw aiohttp + uvloop baseline (/work/shared/perf/baseline_client.py ... --uvloop)
   - mlx-bench's OpenAITarget + measure.load (what every speed suite uses)
2. Timing error against the calibration server set to an 80 ms TTFT: measured TTFT (median, p99).

Usage: python benchmarks/client_ceiling.py [--requests 4096] [--tokens 32] [--concurrency 64] [--runs 3]
Prints the figures and the command that made them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PERF = Path(os.environ.get("MLX_BENCH_PERF_DIR", "/work/shared/perf"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def our_client(url: str, n: int, concurrency: int, tokens: int) -> dict[str, Any]:
    """Run inside the pinned child: OpenAITarget + run_load, as the throughput sweep drives them."""
    import uvloop

    from mlx_benchmarks.measure.load import run_load, summarise
    from mlx_benchmarks.targets.base import ChatRequest
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    request = ChatRequest(messages=[{"role": "user", "content": " ".join(["word"] * 16)}], max_tokens=tokens)

    async def go() -> dict[str, Any]:
        target = OpenAITarget(url, max_connections=concurrency)
        await target.start()
        result = await run_load(target, lambda i: request, n_requests=n, concurrency=concurrency)
        await target.stop()
        s = summarise(result)
        return {"client": "mlx-bench OpenAITarget", "n": s.requests_ok, "failed": s.requests_failed,
                "wall_s": round(result.wall_s, 3), "req_s": round(s.requests_per_s, 1),
                "tok_s": round(s.output_tps, 1)}

    out = uvloop.run(go())
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 2)
    return out


def one_run(kind: str, url: str, n: int, concurrency: int, tokens: int) -> dict[str, Any]:
    if kind == "baseline":
        argv = [sys.executable, str(PERF / "baseline_client.py"), "aiohttp", url + "/chat/completions", str(n),
                str(concurrency), "16", str(tokens), "--uvloop"]
    else:
        argv = [sys.executable, __file__, "--child", url, str(n), str(concurrency), str(tokens)]
    out = subprocess.run([*pinned(1), *argv], capture_output=True, text=True, timeout=600, check=True)
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    # whole-process CPU includes interpreter start and imports; per request is what the loop costs
    figures["cpu_ms_per_request"] = round(figures["cpu_s"] * 1e3 / n, 3)
    return figures


def ceiling(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    port = free_port()
    server = subprocess.Popen([*pinned(0), sys.executable, str(PERF / "null_server.py"), str(port)],
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "ours": []}
        for _ in range(args.runs):  # interleaved, so drift in machine load hits both alike
            for kind in runs:
                runs[kind].append(one_run(kind, url, args.requests, args.concurrency, args.tokens))
        return runs
    finally:
        server.terminate()
        server.wait(timeout=10)


def timing_error(ttft_ms: float) -> dict[str, Any]:
    from mlx_benchmarks.cli.calibrate_cmd import calibrate

    figures = asyncio.run(calibrate(ttft_ms=ttft_ms, itl_ms=5.0, levels=[1], requests=100, timing_requests=50,
                                    tokens=8))
    return dict(figures["timing"])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, n, c, t = sys.argv[2], *map(int, sys.argv[3:6])
        print(json.dumps(our_client(url, n, c, t)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4096)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ttft-ms", type=float, default=80.0)
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    runs = ceiling(args)
    print(f"\n{args.requests} requests x {args.tokens} tokens, {args.concurrency} in flight, median of {args.runs}:")
    print("| client (1 core) | req/s | tokens/s | CPU ms/request |\n|---|---|---|---|")
    for kind, label in (("baseline", "raw aiohttp + uvloop (baseline_client.py)"), ("ours", "mlx-bench OpenAITarget")):
        rows = runs[kind]
        med = {k: statistics.median(r[k] for r in rows) for k in ("req_s", "tok_s", "cpu_ms_per_request")}
        print(f"| {label} | {med['req_s']:,.0f} | {med['tok_s']:,.0f} | {med['cpu_ms_per_request']:.2f} |")
    print("runs: " + json.dumps(runs))
    timing = timing_error(args.ttft_ms)
    print(f"\ntiming error against a server set to TTFT {args.ttft_ms:g} ms: " + json.dumps(timing))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

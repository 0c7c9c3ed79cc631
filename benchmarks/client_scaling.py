"""The client's ceiling with N client processes (``--client-processes N``), beside raw aiohttp + uvloop in N.

For N = 1, 2, 4, ... up to the core count, against the zero-delay null server (/work/shared/perf/null_server.py):
- mlx-bench: OpenAITarget + measure.load.run_load (N = 1, in process, as every speed suite by default) or
  measure.workers.ClientProcesses (N > 1: one schedule striped over N spawned workers), C requests in flight;
- the baseline: N copies of /work/shared/perf/baseline_client.py ... --uvloop started together, each with
  1/N of the requests and of the concurrency.
req/s is all requests over the slowest client's wall time; CPU ms/request is every client process's whole CPU
(user + system, interpreter start included, for both) over the requests. Median of R runs, interleaved.
The server shares the machine's cores with the clients (nothing is pinned), as it would on a laptop.

Usage: python benchmarks/client_scaling.py [--requests 4096] [--tokens 32] [--concurrency 64] [--runs 3]
Prints the figures and the command that made them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client_ceiling import PERF, free_port  # (a sibling script, not a package)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def process_counts(top: int) -> list[int]:
    return sorted({*(2 ** k for k in range(top.bit_length()) if 2 ** k <= top), top})


def our_client(url: str, n: int, concurrency: int, tokens: int, processes: int) -> dict[str, Any]:
    """Inside a child: one run of mlx-bench's client with ``processes`` processes."""
    import uvloop

    from mlx_benchmarks.measure.load import LoadResult, run_load, summarise
    from mlx_benchmarks.measure.workers import ClientProcesses, recipe_for
    from mlx_benchmarks.targets.base import ChatRequest
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    request = ChatRequest(messages=[{"role": "user", "content": " ".join(["word"] * 16)}], max_tokens=tokens)

    async def go() -> LoadResult:
        target = OpenAITarget(url, max_connections=concurrency)
        if processes == 1:
            await target.start()
            try:
                return await run_load(target, lambda i: request, n_requests=n, concurrency=concurrency)
            finally:
                await target.stop()
        recipe = recipe_for(target)
        assert recipe is not None
        async with ClientProcesses(recipe, processes) as pool:
            return await pool.run_load(lambda i: request, n_requests=n, concurrency=concurrency)

    result = uvloop.run(go())
    s = summarise(result)
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"n": s.requests_ok, "failed": s.requests_failed, "wall_s": result.wall_s,
            "cpu_s": own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime,
            "loop_cpu_ms_per_request": round(s.client_cpu_ms_per_request, 3)}


def baseline(url: str, n: int, concurrency: int, tokens: int, processes: int) -> dict[str, Any]:
    share = [len(range(w, n, processes)) for w in range(processes)]
    conc = [max(1, len(range(w, concurrency, processes))) for w in range(processes)]
    children = [subprocess.Popen([sys.executable, str(PERF / "baseline_client.py"), "aiohttp",
                                  url + "/chat/completions", str(share[w]), str(conc[w]), "16", str(tokens), "--uvloop"],
                                 stdout=subprocess.PIPE, text=True) for w in range(processes)]
    outs = [json.loads(child.communicate(timeout=600)[0].strip().splitlines()[-1]) for child in children]
    return {"n": sum(o["n"] for o in outs), "failed": n - sum(o["n"] for o in outs),
            "wall_s": max(o["wall_s"] for o in outs), "cpu_s": sum(o["cpu_s"] for o in outs)}


def one_run(kind: str, url: str, args: argparse.Namespace, processes: int) -> dict[str, Any]:
    if kind == "baseline":
        figures = baseline(url, args.requests, args.concurrency, args.tokens, processes)
    else:
        argv = [sys.executable, __file__, "--child", url, str(args.requests), str(args.concurrency),
                str(args.tokens), str(processes)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["req_s"] = figures["n"] / figures["wall_s"]
    figures["tok_s"] = figures["req_s"] * args.tokens
    figures["cpu_ms_per_request"] = figures["cpu_s"] * 1e3 / max(figures["n"], 1)
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, n, c, t, p = sys.argv[2], *map(int, sys.argv[3:7])
        print(json.dumps(our_client(url, n, c, t, p)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4096)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-processes", type=int, default=cores())
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {cores()} cores")
    port = free_port()
    server = subprocess.Popen([sys.executable, str(PERF / "null_server.py"), str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    counts = process_counts(args.max_processes)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {(k, p): [] for p in counts for k in ("baseline", "ours")}
    try:
        time.sleep(1.0)
        for _ in range(args.runs):  # interleaved, so drift in machine load hits every row alike
            for kind, processes in runs:
                runs[kind, processes].append(one_run(kind, url, args, processes))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"\n{args.requests} requests x {args.tokens} tokens, {args.concurrency} in flight, median of {args.runs}, "
          f"{cores()} cores shared with the server:")
    print("| client processes | client | req/s | tokens/s | CPU ms/request | failed |\n|---|---|---|---|---|---|")
    for (kind, processes), rows in runs.items():
        label = "raw aiohttp + uvloop (baseline_client.py)" if kind == "baseline" else "mlx-bench"
        med = {k: statistics.median(r[k] for r in rows) for k in ("req_s", "tok_s", "cpu_ms_per_request")}
        failed = sum(r["failed"] for r in rows)
        print(f"| {processes} | {label} | {med['req_s']:,.0f} | {med['tok_s']:,.0f} | "
              f"{med['cpu_ms_per_request']:.3f} | {failed} |")
    print("runs: " + json.dumps({f"{k}/{p}": v for (k, p), v in runs.items()}, default=str))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

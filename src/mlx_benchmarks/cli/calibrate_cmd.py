"""``mlx-bench calibrate``: the harness measured against a loopback server whose timing is known.

Two figures: the timing error (measured minus set TTFT and ITL, against a paced server) and the client's
ceiling (requests/s and streamed tokens/s one client process drives against a zero-delay server; with
``--client-processes 1,2,4`` or ``auto``, the ceiling of each number of client processes).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mlx_benchmarks.aio import run_coroutine
from mlx_benchmarks.cli.common import console, print_json
from mlx_benchmarks.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("calibrate", help="measure the harness's own timing error and ceiling",
                                   description=__doc__)
    parser.add_argument("--ttft-ms", type=float, default=50.0, help="TTFT the server sets (default 50)")
    parser.add_argument("--itl-ms", type=float, default=5.0, help="inter-token delay the server sets (default 5)")
    parser.add_argument("--concurrency", default="1,16,64", help="levels for the ceiling (default 1,16,64)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per ceiling level (default 2000)")
    parser.add_argument("--timing-requests", type=int, default=50,
                        help="sequential requests for the timing error (default 50)")
    parser.add_argument("--tokens", type=int, default=32, help="tokens per answer (default 32)")
    parser.add_argument("--client-processes", default="1", metavar="N,N,...|auto",
                        help="ceilings for these numbers of client processes (auto: 1, 2, 4, ... up to one per "
                             "core; default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def process_counts(value: str) -> list[int]:
    """``--client-processes``: "1,2" -> [1, 2]; "auto" -> 1, 2, 4, ... and the core count."""
    from mlx_benchmarks.measure.workers import parse_client_processes

    if value.strip().lower() == "auto":
        cores = parse_client_processes("auto")
        return sorted({*(2 ** k for k in range(cores.bit_length()) if 2 ** k <= cores), cores})
    return sorted({parse_client_processes(item) for item in value.split(",")})


def _checked(args: argparse.Namespace) -> list[int]:
    from mlx_benchmarks.suites.speed_common import MAX_CONCURRENCY, parse_int_list

    levels = parse_int_list(args.concurrency, "--concurrency", maximum=MAX_CONCURRENCY)
    process_counts(args.client_processes)
    if args.ttft_ms < 0 or args.itl_ms < 0:
        raise UsageError("--ttft-ms and --itl-ms must be 0 or more")
    for flag, value, top in (("--requests", args.requests, 1_000_000), ("--timing-requests", args.timing_requests,
                                                                        10_000), ("--tokens", args.tokens, 4096)):
        if not 1 <= value <= top:
            raise UsageError(f"{flag}: {value} is out of range (1..{top})")
    return levels


async def calibrate(*, ttft_ms: float, itl_ms: float, levels: list[int], requests: int, timing_requests: int,
                    tokens: int, processes: list[int] | None = None) -> dict[str, Any]:
    """Every figure of ``mlx-bench calibrate`` as one JSON-ready dict."""
    import aiohttp

    from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
    from mlx_benchmarks.measure.load import LoadSummary, ceiling, run_load
    from mlx_benchmarks.measure.stats import summary
    from mlx_benchmarks.measure.workers import ceilings_with
    from mlx_benchmarks.targets.base import ChatRequest
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    def paced(index: int) -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": "calibrate"}], max_tokens=tokens,
                           extra_body={"calibration_ttft_ms": ttft_ms, "calibration_itl_ms": itl_ms})

    with SpawnedCalibrationServer() as server:
        target = OpenAITarget(server.url, max_connections=max(levels))
        await target.start()
        try:
            await run_load(target, paced, n_requests=1, concurrency=1)  # connection set-up is not timing error
            timing = await run_load(target, paced, n_requests=timing_requests, concurrency=1, time_limit_s=300)
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{server.port}/calibration/stats") as response:
                server_stats = await response.json()
            ceilings: dict[tuple[int, int], LoadSummary] = {}
            for n in processes or [1]:
                if n == 1:
                    for c in levels:
                        ceilings[n, c] = await ceiling(target, concurrency=c, n_requests=requests, tokens=tokens)
                else:
                    each = await ceilings_with(target, n, levels, n_requests=requests, tokens=tokens)
                    ceilings.update(((n, c), found) for c, found in each.items())
        finally:
            await target.stop()
    ok = timing.ok
    ttft_err = summary([c.ttft_ms - ttft_ms for c in ok if c.ttft_ms is not None])
    itl_err = summary([x - itl_ms for c in ok for x in c.itl_ms()])
    return {
        "timing": {"ttft_ms_set": ttft_ms, "itl_ms_set": itl_ms, "requests": len(timing.completions),
                   "failed": len(timing.failed),
                   "ttft_error_ms": {k: round(ttft_err[k], 3) for k in ("p50", "p99", "mean") if k in ttft_err},
                   "itl_error_ms": {k: round(itl_err[k], 3) for k in ("p50", "p99", "mean") if k in itl_err},
                   "server_first_token_lateness_ms": server_stats.get("first_token_lateness_ms")},
        "ceiling": [{"client_processes": n, "concurrency": c, "requests": s.requests_ok + s.requests_failed,
                     "failed": s.requests_failed,
                     "requests_per_s": round(s.requests_per_s, 1), "tokens_per_s": round(s.output_tps, 1),
                     "client_cpu_ms_per_request": round(s.client_cpu_ms_per_request, 3)}
                    for (n, c), s in ceilings.items()],
        "tokens_per_answer": tokens,
    }


def run(args: argparse.Namespace) -> int:
    levels = _checked(args)
    coro = calibrate(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, levels=levels, requests=args.requests,
                     timing_requests=args.timing_requests, tokens=args.tokens,
                     processes=process_counts(args.client_processes))
    figures = run_coroutine(coro)
    if args.json:
        print_json(figures)
        return 0
    out = console()
    timing = figures["timing"]
    out.print(f"timing error vs a server set to TTFT {timing['ttft_ms_set']:g} ms, ITL {timing['itl_ms_set']:g} ms "
              f"({timing['requests']} requests):", markup=False)
    out.print(f"  TTFT measured - set: {json.dumps(timing['ttft_error_ms'])} ms", markup=False)
    out.print(f"  ITL measured - set:  {json.dumps(timing['itl_error_ms'])} ms", markup=False)
    out.print(f"  server's own lateness: {json.dumps(timing['server_first_token_lateness_ms'])} ms", markup=False)
    out.print(f"client ceiling ({figures['tokens_per_answer']} tokens per answer, zero-delay server):", markup=False)
    several = len({row["client_processes"] for row in figures["ceiling"]}) > 1
    for row in figures["ceiling"]:
        who = f"  {row['client_processes']:>2} process{'es' if row['client_processes'] > 1 else '  '}," if several else ""
        out.print(f"{who}  concurrency {row['concurrency']:>3}: {row['requests_per_s']:>9,.1f} req/s "
                  f"{row['tokens_per_s']:>11,.1f} tok/s  {row['client_cpu_ms_per_request']:.3f} CPU ms/request"
                  + (f"  ({row['failed']} failed)" if row["failed"] else ""), markup=False)
    return 0

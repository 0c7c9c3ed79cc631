"""Peak RSS of the harness streaming very large answers at high concurrency, under the response budget.

A scripted loopback server double (a spawned process, so its memory is not ours) streams answers of
``--answer-mb`` MiB in 64 KiB content events; this process sends ``--concurrency`` requests at once through
``OpenAITarget`` and ``measure.load.send`` (what every suite uses) with ``--max-buffered-mb`` as the run-wide
budget, then prints its own peak RSS (ru_maxrss), the budget's peak and how many answers were refused.

    .venv/bin/python benchmarks/large_answers.py --concurrency 32 --answer-mb 60 --max-buffered-mb 512

``--cli SUITE`` runs a whole ``mlx-bench run SUITE`` (e.g. ``reasoning --limit 2``, ``throughput``) in a child
process against the same double instead, and prints the child's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import socket
import subprocess
import sys
import tempfile
import time

PIECE = 64 << 10


def serve(port: int, answer_mb: int) -> None:
    from aiohttp import web

    event = b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": "x" * PIECE}}]}).encode() + b"\n\n"
    last = b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "double"}]})

    usage = b'data: {"choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": %d}}\n\n' % (
        answer_mb * (1 << 20) // PIECE)

    async def chat(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for _ in range(answer_mb * (1 << 20) // PIECE):
                await response.write(event)
            await response.write(usage + last)
        except (ConnectionError, RuntimeError):
            pass  # the client stopped this answer (the budget)
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client(url: str, concurrency: int, per_answer_mb: float, total_mb: float) -> tuple[int, int, int]:
    from mlx_benchmarks.measure.load import send
    from mlx_benchmarks.targets.base import ChatRequest
    from mlx_benchmarks.targets.openai_http import OpenAITarget
    from mlx_benchmarks.targets.response_budget import ResponseBudget

    budget = ResponseBudget.of_mb(per_answer_mb, total_mb)
    target = OpenAITarget(url, budget=budget, max_connections=concurrency)
    for _ in range(50):
        try:
            await target.start()
            break
        except Exception:  # the server double is still starting
            await asyncio.sleep(0.2)
    request = ChatRequest(messages=[{"role": "user", "content": "long"}], max_tokens=1)
    # keep_text=True: the quality suites' path, the heavier one (a speed level keeps no text)
    done = await asyncio.gather(*(send(target, request, keep_text=True) for _ in range(concurrency)))
    await target.stop()
    return sum(1 for c in done if c.ok), budget.refused, budget.peak


def run_cli(args: argparse.Namespace, url: str, started: float) -> int:
    """The whole CLI in a child process; its peak RSS from RUSAGE_CHILDREN (only child waited for here)."""
    with tempfile.TemporaryDirectory() as store:
        command = [sys.executable, "-m", "mlx_benchmarks.cli.main", "run", *args.cli, "--target", url,
                   "--store", store, "--git-sha", "abcdef0", "--concurrency", str(args.concurrency),
                   "--max-response-mb", f"{args.max_response_mb:g}", "--max-buffered-mb", f"{args.max_buffered_mb:g}"]
        for _ in range(50):  # the server double is still starting
            try:
                socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"command: {sys.executable} benchmarks/large_answers.py --concurrency {args.concurrency} --answer-mb "
          f"{args.answer_mb} --max-buffered-mb {args.max_buffered_mb:g} --cli {' '.join(args.cli)}")
    print(f"exit {done.returncode}; child peak RSS {rss:.0f} MiB, {time.perf_counter() - started:.1f} s")
    print("\n".join(done.stderr.strip().splitlines()[-3:]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--answer-mb", type=int, default=60)
    parser.add_argument("--max-response-mb", type=float, default=64.0)
    parser.add_argument("--max-buffered-mb", type=float, default=512.0)
    parser.add_argument("--cli", nargs=argparse.REMAINDER, default=None, metavar="SUITE ...",
                        help="run `mlx-bench run SUITE ...` in a child process instead (last on the line)")
    args = parser.parse_args()
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, args.answer_mb), daemon=True)
    server.start()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if args.cli:
        try:
            return run_cli(args, f"http://127.0.0.1:{port}/v1", started)
        finally:
            server.terminate()
    try:
        ok, refused, peak = asyncio.run(client(f"http://127.0.0.1:{port}/v1", args.concurrency,
                                               args.max_response_mb, args.max_buffered_mb))
    finally:
        server.terminate()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"command: {sys.executable} benchmarks/large_answers.py --concurrency {args.concurrency} "
          f"--answer-mb {args.answer_mb} --max-response-mb {args.max_response_mb:g} "
          f"--max-buffered-mb {args.max_buffered_mb:g}")
    print(f"answers finished {ok}, refused by the budget {refused}, budget peak {peak / (1 << 20):.1f} MiB, "
          f"peak RSS {rss:.0f} MiB (before the requests {before:.0f} MiB), {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

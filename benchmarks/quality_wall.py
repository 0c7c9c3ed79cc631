"""Quality-engine wall time against a server that answers every request in a set time (default 200 ms).

A SERVER DOUBLE (named as such, never a model): a loopback OpenAI-compatible server, in its own process,
that answers each quality prompt with its gold answer (tests/doubles/gold_target.py) ``--delay-ms`` after the
request arrived, streamed in a few chunks. Against it the engine's ideal wall time is
ceil(samples / concurrency) x delay: anything above that is the client's own cost (requests, scoring,
journal). For each task and concurrency this runs ``mlx-bench run SUITE --tasks TASK --limit N
--concurrency C`` and reads the task's active time from the stored envelope (``duration_seconds``: first
sample's start to last sample's end, scoring included). A code task's answers are also run in the sandbox:
its "scoring floor" is what its sandbox runs cost, timed one at a time here (16 gold answers), times the
samples, over the cores: the least any engine could take to score them on this machine.

Usage: python benchmarks/quality_wall.py [--samples 96] [--concurrency 1,8,32] [--delay-ms 200]
       [--tasks reasoning:gsm8k,coding:humaneval] [--score-workers N]
Prints the figures and the command that made them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE_TASKS = ("humaneval", "mbpp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(port: int, delay_s: float) -> None:
    """The server double: gold answer of the prompt's record, ``delay_s`` after the request arrived."""
    sys.path.insert(0, str(ROOT))
    from aiohttp import web
    from tests.doubles.gold_target import RecordIndex, gold_answer

    index = RecordIndex()

    def event(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
        body: dict[str, Any] = {"id": "d", "object": "chat.completion.chunk", "model": "quality-wall-double",
                                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    async def chat(request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.json()
        prompt = str(body["messages"][-1]["content"])
        text = gold_answer(index.find(prompt))
        await asyncio.sleep(max(0.0, arrived + delay_s - time.monotonic()))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        pieces = re.findall(r"\S+\s*|\s+", text) or [text]
        out = [event({"role": "assistant"})]
        out += [event({"content": "".join(pieces[i:i + 16])}) for i in range(0, len(pieces), 16)]
        out.append(event({}, "stop", {"prompt_tokens": len(prompt.split()), "completion_tokens": len(pieces)}))
        await response.write(b"".join(out) + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "quality-wall-double", "object": "model"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def run_one(url: str, suite: str, task: str, samples: int, concurrency: int, store: Path,
            score_workers: int | None, src: str | None = None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "mlx_benchmarks.cli.main", "run", suite, "--target", url, "--tasks", task,
            "--limit", str(samples), "--concurrency", str(concurrency), "--store", str(store), "--json"]
    if score_workers is not None:
        argv += ["--score-workers", str(score_workers)]
    env = {**os.environ, "PYTHONPATH": src} if src else None  # another checkout's engine, for an A/B
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    whole = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {out.returncode}: {out.stderr[-2000:]}")
    envelope = json.loads(out.stdout[out.stdout.index("{"):])
    result = next(r for r in envelope["results"] if r["name"] == task)

    return {"active_s": float(result["duration_seconds"]), "process_s": whole, "value": result["value"],
            "n_errors": result["tags"].get("n_errors")}


def scoring_floor(task: str, samples: int) -> float:
    """A code task: its gold answers run in the sandbox one at a time (16 of them), scaled to ``samples``
    and spread over every core: the least any engine could spend scoring them on this machine."""
    sys.path.insert(0, str(ROOT))
    from tests.doubles.gold_target import gold_answer

    from mlx_benchmarks.datasets import load_dataset
    from mlx_benchmarks.measure.timing import Completion
    from mlx_benchmarks.sandbox.backend import resolve_backend
    from mlx_benchmarks.suites.coding import run_code
    from mlx_benchmarks.suites.eval_engine import ModelOutput, split_reasoning

    records = [r for r in load_dataset(task) if r.code is not None][:16]
    if not records:
        return 0.0
    kind = resolve_backend()
    started = time.perf_counter()
    for record in records:
        text = gold_answer(record)
        answer, _ = split_reasoning(text)
        run_code(record, ModelOutput(text=answer, raw_text=text, reasoning="", tool_calls=[],
                                     completion=Completion(start_ns=0)), kind=kind)
    return (time.perf_counter() - started) / len(records) * samples / (os.cpu_count() or 1)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=96)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--tasks", default="reasoning:gsm8k,coding:humaneval")
    parser.add_argument("--score-workers", type=int, default=None)
    parser.add_argument("--compare-src", default=None, metavar="DIR",
                        help="also run each cell with the package from DIR (e.g. an older commit's src/, from "
                             "git archive), interleaved, as column 'other'")
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(args.delay_ms / 1e3)])
    url = f"http://127.0.0.1:{port}/v1"
    rows = []
    try:
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        for spec in args.tasks.split(","):
            suite, task = spec.split(":")
            for level in (int(c) for c in args.concurrency.split(",")):
                with tempfile.TemporaryDirectory() as store:
                    figures = run_one(url, suite, task, args.samples, level, Path(store), args.score_workers)
                if args.compare_src:
                    with tempfile.TemporaryDirectory() as store:
                        other = run_one(url, suite, task, args.samples, level, Path(store), None, args.compare_src)
                    figures["other_active_s"] = other["active_s"]
                ideal = math.ceil(args.samples / level) * args.delay_ms / 1e3
                rows.append((task, level, ideal, figures))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"\n{args.samples} samples per task, server answering in {args.delay_ms:g} ms, {os.cpu_count()} cores:")
    print("| task | concurrency | ideal s | active s | x ideal | scoring floor s | x max(ideal, floor) "
          "| whole command s | score | errors | other active s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    floors = {task: scoring_floor(task, args.samples) if task in CODE_TASKS else 0.0 for task, _, _, _ in rows}
    for task, level, ideal, f in rows:
        floor = floors[task]
        print(f"| {task} | {level} | {ideal:.2f} | {f['active_s']:.2f} | {f['active_s'] / ideal:.2f} | "
              f"{floor:.2f} | {f['active_s'] / max(ideal, floor):.2f} | {f['process_s']:.2f} | {f['value']:.3f} | "
              f"{f['n_errors']} | {f.get('other_active_s', '-')} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

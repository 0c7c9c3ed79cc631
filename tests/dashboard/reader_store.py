"""A store shaped like what readers look at: a pp x tg throughput run, a rate sweep, long samples, many runs.

Result names and tags follow what the throughput, load-level and sweep suites write (``prompt_tokens_requested``,
``gen_tokens_requested``, ``sweep_rate_<R>_requests_per_sec`` with ``request_rate`` and ``keeps_up``,
``sweep_rate_<R>_ttft_p50_ms``...). Tests take their expectations from the constants here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlx_benchmarks.envelope import Envelope, GenKwargs, MemorySnapshot, Result
from mlx_benchmarks.store import Store

SYSTEM = {"os": "macOS 15.3.2", "chip": "Apple M4 Max", "memory_gb": 128, "python_version": "3.11.9", "kernel": "24.3.0"}
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
PROMPTS = (128, 512, 2048)
GENS = (32, 128)
RATES = (0.5, 1.0, 2.0, 4.0)
CAPACITY = 2.0  # the sweep keeps up to here; above, achieved flattens
LONG_WORD = "supercalifragilistic" * 12  # 240 characters with no space to break at
LONG_PROMPT = "Explain step by step. " * 60 + LONG_WORD


@dataclass
class ReaderStore:
    root: Path
    grid_run: str
    sweep_run: str
    sample_run: str
    n_runs: int


def decode_tps(prompt: int, gen: int) -> float:
    return round(60.0 - prompt / 200.0 + gen / 64.0, 3)


def ttft_ms(prompt: int) -> float:
    return round(40.0 + prompt * 0.25, 3)


def _envelope(suite: str, model: str, when: datetime, results: list[Result]) -> Envelope:
    return Envelope(suite=suite, model=model, system=dict(SYSTEM), git_sha="abc1234", timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    seed=1, gen_kwargs=GenKwargs(max_gen_toks=256, temperature=0.0), results=results,
                    memory_snapshots=[MemorySnapshot("before", 0.4), MemorySnapshot("peak", 5.0)])


def grid_results() -> list[Result]:
    out = []
    for gen in GENS:
        for prompt in PROMPTS:
            value = decode_tps(prompt, gen)
            out.append(Result(f"tok_per_sec_{prompt}", "throughput", value, "tok/s", decode_tokens_per_second=value,
                              prompt_tokens_per_second=prompt * 4.0, first_token_latency_ms=ttft_ms(prompt),
                              raw={"trials": [value - 0.5, value, value + 0.5], "ttft_ms": [ttft_ms(prompt) + d for d in (-2, 0, 3)]})
                       .tag(prompt_tokens_requested=prompt, gen_tokens_requested=gen, concurrency=1, framework="mlx-lm",
                            **{f"extra_tag_{i}": i for i in range(25)}))
    return out


def sweep_results() -> list[Result]:
    out = []
    for rate in RATES:
        achieved = min(rate, CAPACITY)
        label = f"sweep_rate_{rate:g}"
        out.append(Result(f"{label}_requests_per_sec", "throughput", achieved, "req/s")
                   .tag(request_rate=rate, keeps_up=rate <= CAPACITY, answer_pace_per_sec=achieved))
        for kind, base in (("ttft", 100.0), ("e2e", 900.0)):
            for q, factor in (("p50", 1.0), ("p99", 1.6)):
                out.append(Result(f"{label}_{kind}_{q}_ms", "latency", base * factor * (1 + rate), "ms")
                           .tag(request_rate=rate, percentile=q))
    out.append(Result("sweep_max_sustainable_rps", "throughput", CAPACITY, "req/s").tag(found=True))
    return out


def samples() -> list[dict[str, Any]]:
    return [{"key": f"gsm8k:{i}", "task": "gsm8k", "id": str(i), "prompt": LONG_PROMPT, "response": f"The answer is {i}. {LONG_WORD}",
             "extracted": str(i), "score": 0 if i % 2 else 1, "error": None, "prompt_tokens": 300 + i, "completion_tokens": 40 + i}
            for i in range(6)]


def build_reader_store(root: Path, extra_runs: int = 0) -> ReaderStore:
    """Three runs to look at, plus ``extra_runs`` throughput runs spread over models (two runs per model)."""
    store = Store(root)
    grid = store.put(_envelope("throughput", "mlx-community/Qwen3-8B-4bit", START, grid_results()).validated()).run_id
    sweep = store.put(_envelope("throughput", "mlx-community/Qwen3-8B-4bit", START + timedelta(hours=1), sweep_results()).validated()).run_id
    scored = [Result("gsm8k", "accuracy", 0.5, "ratio").tag(n_samples=6)]
    sample_run = store.put(_envelope("reasoning", "mlx-community/Qwen3-8B-4bit", START + timedelta(hours=2), scored).validated(), samples()).run_id
    for i in range(extra_runs):
        # model i // 2: two runs each, too few for a trend; models 0-2 get more below through the fixed runs' days
        model = f"org/model-{i // 2 if i >= 12 else i % 4}"
        value = 30.0 + i % 7
        results = [Result("decode_tps", "throughput", value, "tok/s", decode_tokens_per_second=value).tag(concurrency=1),
                   Result("ttft_p50", "latency", 100.0 + i % 5, "ms").tag(concurrency=1)]
        store.put(_envelope("throughput", model, START + timedelta(days=1 + i, minutes=i), results).validated())
    return ReaderStore(root, grid, sweep, sample_run, 3 + extra_runs)


def write_hundred_report(root: Path) -> tuple[ReaderStore, Path]:
    """A 100-run store under ``root`` and its HTML report, written by the CLI."""
    from mlx_benchmarks.cli.main import main

    store = build_reader_store(root / "store", extra_runs=97)
    out = root / "report.html"
    if main(["report", "--store", str(store.root), "--html", str(out)]) != 0:
        raise AssertionError("mlx-bench report failed")
    return store, out

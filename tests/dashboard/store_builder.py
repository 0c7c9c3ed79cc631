"""Builds a realistic results store for the report and dashboard tests, through ``Store.put``.

Three models (one of them named with HTML that would run script if a page ever rendered it as markup), the
throughput and reasoning suites, one run per model and suite per day over several days, per-sample records with
prompts and model outputs for reasoning. Hostile strings sit in the model name, tags, errors and responses.
Tests compute their expectations from ``BuiltStore.runs``, never from the code under test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlx_benchmarks.envelope import Envelope, GenKwargs, MemorySnapshot, Result
from mlx_benchmarks.store import Store

XSS_SCRIPT = "<script>alert('xss-script')</script>"
XSS_IMG = "<img src=x onerror=alert('xss-img')>"
XSS_MODEL = f"evil/model{XSS_IMG}"
MODELS = ("mlx-community/Qwen3-8B-4bit", "mlx-community/Llama-3.2-3B-Instruct-4bit", XSS_MODEL)
TASKS = ("gsm8k", "arc_challenge", "mmlu")
SYSTEM = {"os": "macOS 15.3.2", "chip": "Apple M4 Max", "memory_gb": 128, "python_version": "3.11.9", "kernel": "24.3.0"}
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass
class BuiltRun:
    """One stored run as the tests know it."""

    run_id: str
    envelope: dict[str, Any]
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.envelope["model"])

    @property
    def suite(self) -> str:
        return str(self.envelope["suite"])

    def value(self, name: str, metric: str) -> float:
        return next(float(r["value"]) for r in self.envelope["results"] if (r["name"], r["metric"]) == (name, metric))


@dataclass
class BuiltStore:
    """The store and every run put into it, oldest first."""

    root: Path
    runs: list[BuiltRun]

    def latest(self, model: str, suite: str) -> BuiltRun:
        return max((r for r in self.runs if (r.model, r.suite) == (model, suite)), key=lambda r: r.envelope["timestamp"])

    def series(self, model: str, suite: str) -> list[BuiltRun]:
        return sorted((r for r in self.runs if (r.model, r.suite) == (model, suite)), key=lambda r: r.envelope["timestamp"])


def _throughput(model_index: int, day: int, when: datetime, rng: random.Random) -> Envelope:
    decode = 40.0 + 25.0 * model_index + 1.5 * day + rng.uniform(-0.4, 0.4)
    results = [
        Result("decode_tps", "throughput", decode, "tok/s", duration_seconds=12.5, decode_tokens_per_second=decode)
        .tag(concurrency=1, framework="mlx-lm"),
        Result("ttft_p50", "latency", 180.0 - 10 * model_index - day + rng.uniform(-1, 1), "ms")
        .tag(concurrency=1, note=XSS_SCRIPT),
        Result("prefill_tps", "throughput", 800.0 + 90 * model_index + rng.uniform(-5, 5), "tok/s"),
    ]
    memory = [
        MemorySnapshot("before", 0.4, free_gb=100.0, swap_mb=0.0),
        MemorySnapshot("loaded", 4.5 + model_index, free_gb=95.0 - model_index, wired_gb=3.0),
        MemorySnapshot("peak", 5.2 + model_index + day * 0.01, free_gb=94.0 - model_index, wired_gb=3.4),
        MemorySnapshot("after", 4.6 + model_index, free_gb=95.0, swap_mb=12.0),
    ]
    return Envelope(
        suite="throughput", model=MODELS[model_index], system=dict(SYSTEM), git_sha=f"{0xabc1230 + day:x}",
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"), quantization="mlx-4bit", seed=1234,
        gen_kwargs=GenKwargs(max_gen_toks=256, temperature=0.0), results=results, memory_snapshots=memory,
        errors=[f"request 7 timed out {XSS_IMG}"] if model_index == 2 else [],
    )


def _reasoning(model_index: int, day: int, when: datetime, rng: random.Random) -> tuple[Envelope, list[dict[str, Any]]]:
    samples: list[dict[str, Any]] = []
    results = []
    for task_index, task in enumerate(TASKS):
        scores = []
        for i in range(6):
            correct = rng.random() < 0.35 + 0.2 * model_index + 0.05 * task_index
            error = f"parse failure {XSS_SCRIPT}" if (i == 5 and model_index == 2) else None
            response = f"The answer is {i + day}." if model_index != 2 else f"{XSS_SCRIPT} answer {i} {XSS_IMG}"
            samples.append({
                "key": f"{task}:{i}", "task": task, "id": str(i),
                "prompt": f"Question {task} #{i}: what is {i} + {day}?", "response": response,
                "extracted": str(i + day), "score": 1.0 if correct and error is None else 0.0, "error": error,
                "latency_ms": 120.0 + i, "prompt_tokens": 30 + i, "completion_tokens": 12 + i,
            })
            scores.append(samples[-1]["score"])
        results.append(Result(task, "accuracy", sum(scores) / len(scores), "ratio", duration_seconds=30.0)
                       .tag(n_samples=len(scores), model_label=MODELS[model_index]))
    envelope = Envelope(
        suite="reasoning", model=MODELS[model_index], system=dict(SYSTEM), git_sha=f"{0xdef4560 + day:x}",
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"), seed=1234, results=results,
        gen_kwargs=GenKwargs(max_gen_toks=1024, temperature=0.0),
        memory_snapshots=[MemorySnapshot("before", 0.5), MemorySnapshot("peak", 6.0 + model_index), MemorySnapshot("after", 5.0)],
        errors=[s["error"] for s in samples if s["error"]],
    )
    return envelope, samples


def build_store(root: Path, *, days: int = 4, seed: int = 7) -> BuiltStore:
    """Fill ``root`` with ``days`` days of runs for every model and suite; return what was stored."""
    store = Store(root)
    rng = random.Random(seed)
    runs: list[BuiltRun] = []
    for day in range(days):
        for model_index in range(len(MODELS)):
            when = START + timedelta(days=day, minutes=7 * model_index)
            envelope = _throughput(model_index, day, when, rng).validated()
            runs.append(BuiltRun(store.put(envelope).run_id, envelope))
            reasoning, samples = _reasoning(model_index, day, when + timedelta(hours=1), rng)
            document = reasoning.validated()
            runs.append(BuiltRun(store.put(document, samples).run_id, document, samples))
    return BuiltStore(root, runs)


def add_run(built: BuiltStore, model_index: int, day: int) -> BuiltRun:
    """Store one more throughput run (to check that new shards show up)."""
    when = START + timedelta(days=day, minutes=7 * model_index)
    envelope = _throughput(model_index, day, when, random.Random(day)).validated()
    run = BuiltRun(Store(built.root).put(envelope).run_id, envelope)
    built.runs.append(run)
    return run

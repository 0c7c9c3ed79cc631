"""``--scoring loglikelihood``: ranked-classification tasks scored from per-choice log-likelihoods.

The ``reasoning`` and ``knowledge`` suites hand their run here when asked. Each question is one sample:
its choices' log-likelihoods (``targets.loglik``), the chosen index per metric (``scoring.loglik``), journaled
like a generated sample so ``--resume`` redoes nothing. Every result carries ``scoring``, ``num_fewshot``,
``reference`` (the implementation its metric reproduces) and ``loglik_method``, so ``compare`` never pairs a
log-likelihood score with a generative one.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlx_benchmarks.datasets.base import DatasetInfo, Record
from mlx_benchmarks.datasets.loglik import FEWSHOT_CHOICES, dataset_name
from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.errors import RunIncomplete, TargetError, UsageError
from mlx_benchmarks.scoring.loglik import METRICS, REFERENCES, predictions, rank_scores
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.catalog import unknown_tasks
from mlx_benchmarks.suites.eval_engine import SampleRecord, active_seconds, error_lines, mean_result
from mlx_benchmarks.suites.failure_policy import consecutive_limit
from mlx_benchmarks.suites.memory_window import MemoryWindow
from mlx_benchmarks.suites.quality_common import parse_limit
from mlx_benchmarks.targets.base import now_ns
from mlx_benchmarks.targets.loglik import LoglikScorer, scorer_for

SCORING_CHOICES = ("generate", "loglikelihood")


@dataclass(frozen=True)
class LoglikOptions:
    """The validated flags of a log-likelihood run."""

    tasks: tuple[str, ...]
    num_fewshot: int
    limit: int | float | None  # a float: a fraction of each task


def add_scoring_arguments(parser: argparse.ArgumentParser, loglik_tasks: Sequence[str]) -> None:
    parser.add_argument("--scoring", choices=SCORING_CHOICES, default="generate",
                        help="generate: answers are generated and parsed (default); loglikelihood: ranked "
                             f"classification from log-likelihoods (tasks {', '.join(loglik_tasks)})")
    parser.add_argument("--num-fewshot", type=int, default=None, metavar="K",
                        help="loglikelihood only: 0 (default) or 5, OLMES' fixed few-shot examples")


def loglik_options(options: Mapping[str, Any], loglik_tasks: Sequence[str]) -> LoglikOptions | None:
    """None for generative scoring; else the validated options (UsageError before any work)."""
    scoring = options.get("scoring") or "generate"
    shots = options.get("num_fewshot")
    if scoring not in SCORING_CHOICES:
        raise UsageError(f"--scoring must be one of {', '.join(SCORING_CHOICES)}, got {scoring!r}")
    if scoring == "generate":
        if shots not in (None, 0):
            raise UsageError("--num-fewshot applies to --scoring loglikelihood only")
        return None
    shots = 0 if shots is None else int(shots)
    if shots not in FEWSHOT_CHOICES:
        raise UsageError(f"--num-fewshot {shots}: OLMES' request files hold {' or '.join(map(str, FEWSHOT_CHOICES))}-shot contexts")
    raw = options.get("tasks")
    tasks = tuple(t.strip() for t in str(raw).split(",") if t.strip()) if raw else tuple(loglik_tasks)
    unknown = [t for t in tasks if t not in loglik_tasks]
    if unknown or not tasks:
        raise unknown_tasks(unknown, loglik_tasks, what="log-likelihood task")
    return LoglikOptions(tasks=tasks, num_fewshot=shots, limit=parse_limit(options.get("limit")))


def _load(task: str, opts: LoglikOptions, seed: int) -> tuple[list[Record], DatasetInfo]:
    from mlx_benchmarks.datasets import dataset_info, load_dataset, select

    name = dataset_name(task, opts.num_fewshot)
    return select(load_dataset(name), opts.limit, seed), dataset_info(name)


async def _score_record(scorer: LoglikScorer, task: str, record: Record) -> SampleRecord:
    pairs = [(str(c), str(x)) for c, x in record.meta["requests"]]
    gold = int(record.answer)
    key = f"{task}/{record.id}/0"
    started = now_ns()
    error: str | None = None
    scores: dict[str, float] = {}
    detail: dict[str, Any] = {}
    try:
        choice_scores = await scorer.loglikelihood(pairs)
        scores = rank_scores(choice_scores, [x for _, x in pairs], gold)
        detail = {"gold": gold, "predictions": predictions(choice_scores, [x for _, x in pairs]),
                  "logprobs": [s.logprob for s in choice_scores], "is_greedy": [s.is_greedy for s in choice_scores],
                  "continuation_tokens": [s.n_tokens for s in choice_scores]}
    except (TargetError, ValueError) as exc:  # this question fails, the run goes on
        error = f"{type(exc).__name__}: {exc}"
    latency = (now_ns() - started) / 1e6
    return SampleRecord(
        key=key, task=task, id=record.id, sample_index=0, prompt_hash="", prompt=pairs[0][0][-2000:],
        response="", reasoning_chars=0, think_stripped=False,
        extracted=None if error else str(detail["predictions"]["acc"]), score=scores.get("acc"), scores=scores,
        detail=detail, error=error, latency_ms=latency, ttft_ms=None, prompt_tokens=None, completion_tokens=None,
        token_source="none")


async def run_loglik(ctx: RunContext, opts: LoglikOptions) -> SuiteOutcome:
    """Score every question of every task; results per task and metric."""
    scorer = scorer_for(ctx.target)
    loaded = {task: _load(task, opts, ctx.seed) for task in opts.tasks}
    done = ctx.journal.done() if ctx.journal is not None else {}
    session = secrets.token_hex(4)
    outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=0, temperature=0.0))
    by_task: dict[str, list[dict[str, Any]]] = {}
    memory: dict[str, dict[str, object]] = {}
    failures = 0
    abort_after = consecutive_limit(ctx.option("max_consecutive_failures"))  # the target is taken for dead
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=ctx.console, transient=False) as progress:
        for task, (records, _) in loaded.items():
            bar = progress.add_task(f"{task} ({opts.num_fewshot}-shot, loglikelihood)", total=len(records))
            samples = by_task.setdefault(task, [])
            window, scored_here = MemoryWindow.open(ctx), 0  # MLX's peak per task
            for record in records:
                key = f"{task}/{record.id}/0"
                if key in done:
                    samples.append(done[key])
                    progress.advance(bar)
                    continue
                started = now_ns()
                sample = await _score_record(scorer, task, record)
                scored_here += 1
                sample.timing = {"session": session, "start_ns": started, "end_ns": now_ns()}
                record_json = sample.to_json()
                if ctx.journal is not None:
                    ctx.journal.append(record_json)
                samples.append(record_json)
                progress.advance(bar)
                failures = failures + 1 if sample.error else 0
                if failures >= abort_after:
                    tried = sum(len(s) for s in by_task.values())
                    total = sum(len(r) for r, _ in loaded.values())
                    raise RunIncomplete(f"stopped after {failures} consecutive failed questions: {sample.error}; "
                                        f"{tried} questions tried, {total - tried} never tried")
            if scored_here:  # a task wholly from the journal (--resume) was not measured in this process
                memory[task] = window.tags()
    for task, samples in by_task.items():
        info = loaded[task][1]
        tags = {"scoring": "loglikelihood", "num_fewshot": opts.num_fewshot, "loglik_method": scorer.method,
                "dataset": info.name, "dataset_sha256": info.sha256, "dataset_license": info.license,
                "dataset_source": info.source, **memory.get(task, {})}
        for metric in METRICS:
            result: Result = mean_result(task, metric, samples, wall_seconds=active_seconds(samples),
                                         limit=opts.limit, reference=REFERENCES[metric], **tags)
            if result.tags.get("n_samples") != "0":
                outcome.results.append(result)
        outcome.samples.extend(samples)
    outcome.errors.extend(error_lines(by_task))
    outcome.partial = any(s.get("error") for s in outcome.samples)
    return outcome

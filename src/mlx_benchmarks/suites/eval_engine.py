"""The sample-based evaluation engine shared by the quality and tool-use suites.

An ``EvalTask`` is data (records) + a solver (``build_request``) + a scorer (``score``). The engine runs
every (record, sample index) once, with bounded concurrency (the bound covers the requests only: answers
are scored in the scoring pool, ``scoring.pool``, threads or processes for CPU-bound scorers, while the next
requests go out), journals each finished sample (so ``--resume`` redoes nothing it finished, and redoes
what failed), strips ``<think>`` blocks before scoring,
and never drops a sample: a request that fails is recorded with its error and counted, not scored as wrong.

Each sample records when it ran (``timing``: the process's session id and its start and end on that
process's monotonic clock), so a task's duration is the sum over sessions of each one's active span: a
resumed run reports the same duration and throughput as one that was never interrupted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import RunIncomplete, StoreError, TargetError, UsageError
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.scoring.pool import ScoringFailed, ScoringPool, module_of
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.suites.failure_policy import consecutive_limit
from mlx_benchmarks.targets.base import ChatRequest, now_ns
from mlx_benchmarks.targets.retry import retrying

THINK_RE = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)


@dataclass(frozen=True)
class ModelOutput:
    """The answer as the scorer sees it: reasoning removed, tool calls parsed."""

    text: str  # content with <think> blocks stripped
    raw_text: str
    reasoning: str  # reasoning field + stripped think blocks
    tool_calls: list[dict[str, Any]]
    completion: Completion


Scores = dict[str, float]
# a scorer returns metric -> value (0..1) plus free-form detail (extracted answer, failure category ...)
ScoreFn = Callable[[Record, ModelOutput], tuple[Scores, dict[str, Any]]]


@dataclass
class EvalTask:
    """One task of a suite: records, how to ask, how to score."""

    name: str
    records: Sequence[Record]
    build_request: Callable[[Record], ChatRequest]
    score: ScoreFn
    metrics: Sequence[str]  # metric names the scorer returns; the first is the headline
    samples_per_record: int = 1
    # when set, each sample's request gets its own seed derived from this and the sample key, so
    # n samples of one prompt differ yet a rerun (or --resume) asks for exactly the same ones
    sample_seed: int | None = None
    # past this a scoring call is killed and the sample records a scoring error (the sandbox and math-verify
    # keep tighter limits of their own; this is the backstop for a scorer that hangs)
    score_timeout_s: float = 300.0


@dataclass
class SampleRecord:
    """One finished sample, as journaled and stored in samples.parquet."""

    key: str
    task: str
    id: str
    sample_index: int
    prompt_hash: str
    prompt: str
    response: str
    reasoning_chars: int
    think_stripped: bool
    extracted: str | None
    score: float | None
    scores: dict[str, float]
    detail: dict[str, Any]
    error: str | None
    latency_ms: float | None
    ttft_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    token_source: str
    timing: dict[str, Any] = field(default_factory=dict)  # session, start_ns, end_ns
    retries: int = 0  # transient failures retried before this outcome (targets/retry.py)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class EvalOutcome:
    """Every sample of every task, plus each task's active time over every session that ran it."""

    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    wall_seconds: dict[str, float] = field(default_factory=dict)
    aborted: str | None = None


def split_reasoning(text: str) -> tuple[str, str]:
    """(answer without <think> blocks, the removed reasoning); an unclosed <think> eats the rest."""
    removed = "".join(m.group(0) for m in THINK_RE.finditer(text))
    answer = THINK_RE.sub("", text)
    # a lone </think> (template opened the block in the prompt): keep what follows it
    if "</think>" in answer:
        head, _, answer = answer.rpartition("</think>")
        removed += head
    return answer.strip(), removed


def prompt_text(request: ChatRequest) -> str:
    return "\n\n".join(f"[{m.get('role')}] {m.get('content') or ''}" for m in request.messages)


def sample_seed(base: int, key: str) -> int:
    """A stable 31-bit seed for one sample key."""
    digest = hashlib.sha256(f"{base}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def prompt_hash(request: ChatRequest) -> str:
    payload = json.dumps({"messages": request.messages, "tools": request.tools}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _token_counts(ctx: RunContext, completion: Completion, prompt: str) -> tuple[int | None, int | None, str]:
    usage = completion.usage
    if usage and usage.completion_tokens is not None:
        return usage.prompt_tokens, usage.completion_tokens, "usage"
    counted = ctx.target.count_tokens(completion.text + completion.reasoning)
    if counted is not None:
        return ctx.target.count_tokens(prompt), counted, "tokenizer"
    return None, completion.streamed_events, "stream-events"


async def _ask(ctx: RunContext, task: EvalTask, record: Record, index: int,
               timeout_s: float) -> tuple[SampleRecord, ModelOutput | None]:
    """The request of one sample (what the request gate covers); the output to score, None when it failed."""
    request = task.build_request(record)
    if task.sample_seed is not None and request.seed is None:
        request = replace(request, seed=sample_seed(task.sample_seed, f"{task.name}/{record.id}/{index}"))
    text = prompt_text(request)
    sample = SampleRecord(
        key=f"{task.name}/{record.id}/{index}", task=task.name, id=record.id, sample_index=index,
        prompt_hash=prompt_hash(request), prompt=text, response="", reasoning_chars=0, think_stripped=False,
        extracted=None, score=None, scores={}, detail={}, error=None, latency_ms=None, ttft_ms=None,
        prompt_tokens=None, completion_tokens=None, token_source="none",
    )
    start = now_ns()
    retry = retrying(ctx.option("max_retries"))  # 429/503, resets, idle streams: targets/retry.py
    try:
        completion = await retry(lambda: asyncio.wait_for(collect(ctx.target.stream(request)), timeout_s))
    except (TargetError, OSError, TimeoutError) as exc:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        sample.error = message[:500]
        sample.latency_ms = (now_ns() - start) / 1e6
        sample.retries = retry.count
        return sample, None
    sample.retries = retry.count
    answer, thought = split_reasoning(completion.text)
    output = ModelOutput(text=answer, raw_text=completion.text, reasoning=completion.reasoning + thought,
                         tool_calls=completion.tool_calls, completion=completion)
    sample.prompt_tokens, sample.completion_tokens, sample.token_source = _token_counts(ctx, completion, text)
    sample.response = completion.text
    if completion.tool_calls:
        sample.response += json.dumps(completion.tool_calls)
    sample.reasoning_chars = len(output.reasoning)
    sample.think_stripped = bool(thought)
    sample.error = completion.error
    sample.latency_ms = completion.duration_s * 1000
    sample.ttft_ms = completion.ttft_ms
    return sample, None if completion.error else output


async def _score(pool: ScoringPool, task: EvalTask, record: Record, output: ModelOutput,
                 sample: SampleRecord) -> None:
    """Score one answer in the pool (outside the request gate); a scorer that fails is the sample's error."""
    try:
        scores, detail = await pool.score(task.score, record, output, timeout_s=task.score_timeout_s)
    except ScoringFailed as exc:
        sample.error = f"scoring failed: {exc}"[:500]
        sample.detail = {"scoring_error": True}
        return
    extracted = detail.pop("extracted", None)
    sample.extracted = None if extracted is None else str(extracted)
    sample.scores, sample.detail = scores, detail
    sample.score = scores.get(task.metrics[0])


def score_workers(ctx: RunContext) -> int | None:
    """``--score-workers N`` (None: one per core); UsageError for a bad value."""
    value = ctx.option("score_workers")
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--score-workers: {value!r} is not a whole number") from None
    if not 1 <= number <= 256:
        raise UsageError(f"--score-workers: {number} is out of range (1..256)")
    return number


async def run_tasks(ctx: RunContext, tasks: Sequence[EvalTask], *, concurrency: int = 4,
                    timeout_s: float = 600.0) -> EvalOutcome:
    """Run every task's samples, skipping those the journal holds as finished (``--resume``).

    After ``abort_after`` consecutive failed requests the target is taken for dead: RunIncomplete, with the
    counts of samples tried, failed and never tried; the journal keeps what finished.
    """
    done: dict[str, dict[str, Any]] = ctx.journal.done() if ctx.journal is not None else {}
    pool = ScoringPool(score_workers(ctx), preload=[module_of(task.score) for task in tasks])
    async with pool:
        return await _run_tasks(ctx, tasks, done, pool, concurrency=concurrency, timeout_s=timeout_s)


async def _run_tasks(ctx: RunContext, tasks: Sequence[EvalTask], done: dict[str, dict[str, Any]],
                     pool: ScoringPool, *, concurrency: int, timeout_s: float) -> EvalOutcome:
    outcome = EvalOutcome()
    session = secrets.token_hex(4)  # this process's share of the run, for the run's active time
    gate = asyncio.Semaphore(max(1, concurrency))
    consecutive_failures = 0
    abort_after = consecutive_limit(ctx.option("max_consecutive_failures"), concurrency)  # suites.failure_policy
    journal_failures: list[StoreError] = []  # the journal cannot be written: every worker stops, one error
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=ctx.console, transient=False) as progress:
        for task in tasks:
            jobs = [(r, i) for r in task.records for i in range(task.samples_per_record)]
            bar = progress.add_task(task.name, total=len(jobs))
            results: list[dict[str, Any]] = []
            todo = []
            for record, index in jobs:
                key = f"{task.name}/{record.id}/{index}"
                if key in done:
                    results.append(done[key])
                    progress.advance(bar)
                else:
                    todo.append((record, index))

            async def worker(record: Record, index: int, task: EvalTask = task, bar: Any = bar,
                             results: list[dict[str, Any]] = results) -> None:
                nonlocal consecutive_failures
                async with gate:  # the request only: scoring below leaves the slot to the next request
                    if outcome.aborted or journal_failures:
                        return
                    started = now_ns()
                    sample, output = await _ask(ctx, task, record, index, timeout_s)
                if output is not None:
                    await _score(pool, task, record, output, sample)
                sample.timing = {"session": session, "start_ns": started, "end_ns": now_ns()}
                # a failed request (not a failed scorer) is what says the target may be dead
                consecutive_failures = consecutive_failures + 1 if output is None else 0
                if consecutive_failures >= abort_after and not outcome.aborted:
                    # a dead target fails every request: stop early; the journal keeps what finished
                    outcome.aborted = f"stopped after {consecutive_failures} consecutive failed requests: {sample.error}"
                record_json = sample.to_json()
                if ctx.journal is not None:
                    try:  # fsynced: in a thread, so the loop keeps serving the other requests meanwhile
                        await asyncio.to_thread(ctx.journal.append, record_json)
                    except StoreError as exc:  # a full or read-only disk: raised once, after every worker ended
                        journal_failures.append(exc)
                        return
                results.append(record_json)
                progress.advance(bar)

            await asyncio.gather(*(worker(r, i) for r, i in todo))
            if journal_failures:
                raise journal_failures[0]
            outcome.wall_seconds[task.name] = active_seconds(results)
            order = {f"{task.name}/{r.id}/{i}": n for n, (r, i) in enumerate(jobs)}
            outcome.samples[task.name] = sorted(results, key=lambda s: order.get(str(s["key"]), 0))
            if outcome.aborted:
                raise RunIncomplete(f"{outcome.aborted}; {never_tried_counts(outcome, tasks)}")
    return outcome


def never_tried_counts(outcome: EvalOutcome, tasks: Sequence[EvalTask]) -> str:
    """"N samples tried, F failed, M never tried" over every task of the run."""
    tried = [s for samples in outcome.samples.values() for s in samples]
    total = sum(len(t.records) * t.samples_per_record for t in tasks)
    failed = sum(1 for s in tried if s.get("error"))
    return f"{len(tried)} samples tried, {failed} failed, {total - len(tried)} never tried"


def own_seconds(sample: dict[str, Any]) -> float:
    """One sample's time from its start to its end (scoring included), else its request latency."""
    timing = sample.get("timing")
    if isinstance(timing, dict) and {"start_ns", "end_ns"} <= timing.keys():
        return (int(timing["end_ns"]) - int(timing["start_ns"])) / 1e9
    return float(sample["latency_ms"]) / 1000 if sample.get("latency_ms") is not None else 0.0


def active_seconds(samples: Sequence[dict[str, Any]]) -> float:
    """The time the samples' sessions spent on them: per session (one process of the run), from its first
    sample's start to its last sample's end, summed; a sample without timing (a journal written before
    timings were recorded) adds its own latency."""
    spans: dict[str, tuple[int, int]] = {}
    untimed = 0.0
    for sample in samples:
        timing = sample.get("timing")
        if isinstance(timing, dict) and {"session", "start_ns", "end_ns"} <= timing.keys():
            start, end = int(timing["start_ns"]), int(timing["end_ns"])
            first, last = spans.get(str(timing["session"]), (start, end))
            spans[str(timing["session"])] = (min(first, start), max(last, end))
        elif sample.get("latency_ms") is not None:
            untimed += float(sample["latency_ms"]) / 1000
    return sum(end - start for start, end in spans.values()) / 1e9 + untimed


def stderr_of(values: Sequence[float]) -> float:
    """Standard error of the mean (sample standard deviation / sqrt(n)), as lm-eval reports it."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance / n)


def timing_fields(samples: Sequence[dict[str, Any]], wall_seconds: float | None) -> dict[str, float]:
    """Throughput fields for a result, from its samples' timings."""
    ok = [s for s in samples if not s.get("error")]
    # without the task's active time (a subset of its samples), each sample's own time, scoring included
    duration = wall_seconds if wall_seconds and wall_seconds > 0 else sum(map(own_seconds, ok))
    out: dict[str, float] = {"duration_seconds": round(duration, 4)}
    prompt = sum(int(s["prompt_tokens"]) for s in ok if s.get("prompt_tokens") is not None)
    completion = sum(int(s["completion_tokens"]) for s in ok if s.get("completion_tokens") is not None)
    if duration > 0:
        out["prompt_tokens_per_second"] = prompt / duration
        out["decode_tokens_per_second"] = completion / duration
        out["total_tokens_per_second"] = (prompt + completion) / duration
    ttfts = sorted(float(s["ttft_ms"]) for s in ok if s.get("ttft_ms") is not None)
    if ttfts:
        out["first_token_latency_ms"] = ttfts[len(ttfts) // 2]
    return out


def mean_result(task: str, metric: str, samples: Sequence[dict[str, Any]], *, wall_seconds: float | None = None,
                limit: float | None = None, **tags: object) -> Result:
    """The mean of one metric over a task's samples; errored samples are counted, not scored."""
    scored = [float(s["scores"][metric]) for s in samples if not s.get("error") and metric in (s.get("scores") or {})]
    errors = sum(1 for s in samples if s.get("error"))
    value = sum(scored) / len(scored) if scored else 0.0
    result = Result(name=task, metric=metric, value=value, unit="ratio")
    for key, number in timing_fields(samples, wall_seconds).items():
        setattr(result, key, number)
    result.tag(stderr=stderr_of(scored), n_samples=len(scored), n_errors=errors, n_limit=limit if limit else "all",
               higher_is_better=True, retries=sum(int(s.get("retries") or 0) for s in samples), **tags)
    return result


def error_lines(samples_by_task: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One summary line per task with failed samples: count and the commonest reason."""
    lines = []
    for task, samples in samples_by_task.items():
        failed = [str(s["error"]) for s in samples if s.get("error")]
        if failed:
            common = max(set(failed), key=failed.count)
            lines.append(f"{task}: {len(failed)} of {len(samples)} samples failed (e.g. {common[:200]})")
    return lines

"""The scoring pool: scorers run beside the requests, and one that hangs is killed and recorded as an error."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.scoring.pool import ScoringFailed, ScoringPool, module_of
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.suites.eval_engine import EvalOutcome, EvalTask, ModelOutput, mean_result, run_tasks
from mlx_benchmarks.targets.base import ChatRequest, Chunk, now_ns
from tests.doubles.echo_target import ScriptedTarget, double_it, records

SCORE_SLEEP_S = 0.4
OUTPUT = ModelOutput(text="The answer is 2", raw_text="", reasoning="", tool_calls=[], completion=Completion(0))


def exact(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
    last = output.text.split()[-1] if output.text.split() else ""
    return {"exact_match": float(last == record.answer)}, {"extracted": last, "pid": os.getpid()}


def hangs_on_q1(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
    if record.id == "q1":
        time.sleep(120)  # a stuck sympy call, say: only killing its process ends it
    return exact(record, output)


def raises_on_q2(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
    if record.id == "q2":
        raise ValueError("checker bug")
    return exact(record, output)


def busy(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
    end = time.thread_time() + 0.04  # 40 ms of CPU, as a checker parsing the answer might spend
    while time.thread_time() < end:
        pass
    return exact(record, output)


def slow(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
    time.sleep(SCORE_SLEEP_S)  # CPU-bound work, as far as the request slot can tell
    return exact(record, output)


class StampedTarget(ScriptedTarget):
    """The scripted target, also noting when each request began."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(double_it, **kw)
        self.began: list[int] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.began.append(now_ns())
        async for chunk in super().stream(request):
            yield chunk


def run(target: ScriptedTarget, task: EvalTask, concurrency: int, **options: Any) -> EvalOutcome:
    sampler = MemorySampler()
    ctx = RunContext(target=target, options=options, console=Console(quiet=True), memory=sampler, run_key="pool")
    return asyncio.run(run_tasks(ctx, [task], concurrency=concurrency))


def task_of(score: Any, n: int, timeout_s: float = 300.0) -> EvalTask:
    return EvalTask(name="arith", records=records(n), score=score, metrics=["exact_match"], score_timeout_s=timeout_s,
                    build_request=lambda r: ChatRequest(messages=[{"role": "user", "content": r.prompt}]))


def test_a_hanging_scorer_is_killed_at_its_timeout_and_is_a_scoring_error() -> None:
    started = time.perf_counter()
    outcome = run(ScriptedTarget(double_it), task_of(hangs_on_q1, 4, timeout_s=1.0), concurrency=2)
    assert time.perf_counter() - started < 30, "the run waited for the hung scorer"
    samples = {s["id"]: s for s in outcome.samples["arith"]}
    hung = samples.pop("q1")
    # killed in its process, or (while the pool was still starting) abandoned in a thread
    assert hung["error"].startswith("scoring failed: scorer ran past its 1 s limit")
    assert hung["score"] is None and hung["scores"] == {} and hung["response"], "the answer is kept, not scored"
    assert [s["score"] for s in samples.values()] == [1.0, 1.0, 1.0]
    result = mean_result("arith", "exact_match", outcome.samples["arith"])
    assert result.value == 1.0 and result.tags["n_errors"] == "1", "an error, not a wrong answer"
    assert not outcome.aborted


def test_a_scorer_that_raises_is_a_scoring_error_and_the_others_are_scored() -> None:
    outcome = run(ScriptedTarget(double_it), task_of(raises_on_q2, 4), concurrency=4)
    errors = {s["id"]: s["error"] for s in outcome.samples["arith"]}
    assert errors == {"q0": None, "q1": None, "q2": "scoring failed: ValueError: checker bug", "q3": None}


def test_scorers_run_in_other_processes_once_ready_and_an_unpicklable_one_in_a_thread_with_the_same_limit() -> None:
    async def go() -> set[int]:
        async with ScoringPool(2, preload=[module_of(exact)], cpu_bound_s=0) as pool:
            await pool.wait_ready()
            verdicts = await asyncio.gather(*(pool.score(exact, r, OUTPUT, timeout_s=30) for r in records(6)))
        return {detail["pid"] for _, detail in verdicts}

    pids = asyncio.run(go())
    assert os.getpid() not in pids and 1 <= len(pids) <= 2

    def hangs(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:  # a closure
        time.sleep(3)
        return exact(record, output)

    outcome = run(ScriptedTarget(double_it), task_of(hangs, 2, timeout_s=0.5), concurrency=2)
    assert all("ran past its 0.5 s limit (in a thread" in s["error"] for s in outcome.samples["arith"])


def test_scoring_does_not_hold_a_request_slot() -> None:
    """One request slot, answers in 50 ms, scoring 400 ms each: the next request goes out while the previous
    answer is still being scored. (With scoring inside the slot, each request waits for the last score.)"""
    target = StampedTarget(delay_s=0.05)
    outcome = run(target, task_of(slow, 4), concurrency=1, score_workers=4)
    samples = sorted(outcome.samples["arith"], key=lambda s: s["timing"]["start_ns"])
    assert [s["score"] for s in samples] == [1.0] * 4
    began = sorted(target.began)
    for sample, next_request in zip(samples, began[1:], strict=False):
        assert next_request < sample["timing"]["end_ns"], "a request waited for the previous answer's scoring"
    spans = [s["timing"]["end_ns"] - s["timing"]["start_ns"] for s in samples]
    assert min(spans) >= SCORE_SLEEP_S * 1e9, "each sample's time includes its scoring"


def test_a_hung_worker_is_killed_and_replaced() -> None:
    async def go() -> list[Any]:
        async with ScoringPool(1, preload=[module_of(exact)], cpu_bound_s=0) as pool:
            await pool.wait_ready()
            record = records(2)[1]
            with pytest.raises(ScoringFailed, match=r"limit \(its process was killed\)"):
                await pool.score(hangs_on_q1, record, OUTPUT, timeout_s=0.5)
            await pool.wait_ready()  # its replacement
            verdict = await pool.score(exact, record, OUTPUT, timeout_s=30)
            return [verdict, pool.killed]

    assert module_of(exact) == __name__
    (scores, detail), killed = asyncio.run(go())
    assert scores == {"exact_match": 1.0} and killed == 1 and detail["pid"] != os.getpid()


def test_math_verify_has_a_pool_of_its_own_comparing_at_once() -> None:
    """Two comparisons that each take 1 s (the worker's test stall) finish together with two workers: no
    single locked process makes the second wait for the first."""
    from concurrent.futures import ThreadPoolExecutor

    from mlx_benchmarks.scoring.math_equiv import SymbolicChecker

    with SymbolicChecker(timeout_s=5.0, stall_s=1.0, workers=2) as checker, ThreadPoolExecutor(2) as threads:
        assert list(threads.map(lambda _: checker.equivalent("1/2", "0.5"), range(2))) == [True, True]  # start
        began = time.perf_counter()
        verdicts = list(threads.map(lambda _: checker.equivalent("\\frac{1}{2}", "0.5"), range(2)))
        took = time.perf_counter() - began
    assert verdicts == [True, True] and checker.timeouts == 0
    assert took < 1.8, f"two 1 s comparisons took {took:.2f} s: one waited for the other"


def test_only_a_cpu_bound_scorer_moves_to_the_processes() -> None:
    async def go() -> tuple[set[int], set[int], int]:
        async with ScoringPool(2, preload=[module_of(exact)]) as pool:
            cheap = {(await pool.score(exact, r, OUTPUT, timeout_s=30))[1]["pid"] for r in records(4)}
            spawned = len(pool._all)
            for r in records(3):  # 40 ms of CPU a call: over the 25 ms bound, three calls to tell
                await pool.score(busy, r, OUTPUT, timeout_s=30)
            await pool.wait_ready()
            heavy = {(await pool.score(busy, r, OUTPUT, timeout_s=30))[1]["pid"] for r in records(4)}
        return cheap, heavy, spawned

    cheap, heavy, spawned = asyncio.run(go())
    assert cheap == {os.getpid()} and spawned == 0, "a regex scorer is not worth a process start"
    assert os.getpid() not in heavy, "a scorer spending 40 ms of CPU a call scores in the worker processes"

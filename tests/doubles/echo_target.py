"""Test doubles: an in-process target that answers from a script, and a one-task suite over it.

Never offered as a model; tests name them through ``py:tests.doubles.echo_target:...`` or the registries.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.errors import TargetProtocolError, TargetUnavailable
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.eval_engine import EvalTask, error_lines, mean_result, run_tasks
from mlx_benchmarks.targets.base import ChatRequest, Chunk, TargetInfo, Usage, now_ns


class ScriptedTarget:
    """Answers each request with ``answer(prompt)``; ``fail(prompt)`` True raises a protocol error."""

    def __init__(self, answer: Callable[[str], str], *, fail: Callable[[str], bool] = lambda _: False,
                 delay_s: float = 0.0, unavailable: bool = False, model: str = "scripted-test-double") -> None:
        self.info = TargetInfo(kind="test-double", model=model, quantization="none")
        self.answer, self.fail, self.delay_s, self.unavailable = answer, fail, delay_s, unavailable
        self.requests: list[ChatRequest] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        if self.unavailable:
            raise TargetUnavailable("scripted target is configured as unreachable")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def count_tokens(self, text: str) -> int | None:
        return len(text.split())

    def make_prompt(self, n_tokens: int, salt: str) -> str | None:
        return " ".join([salt, *["word"] * (n_tokens - 1)])

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.requests.append(request)
        prompt = str(request.messages[-1]["content"])
        yield Chunk(t_ns=now_ns(), kind="role")
        await asyncio.sleep(self.delay_s)
        if self.fail(prompt):
            raise TargetProtocolError("HTTP 500: scripted failure")
        words = self.answer(prompt).split(" ")
        for word in words:
            yield Chunk(t_ns=now_ns(), kind="content", text=word + " ")
        yield Chunk(t_ns=now_ns(), kind="usage", usage=Usage(prompt_tokens=len(prompt.split()), completion_tokens=len(words)),
                    finish_reason="stop")


def records(n: int) -> list[Record]:
    return [Record(id=f"q{i}", task="arith", prompt=f"What is {i} plus {i}?", answer=str(2 * i)) for i in range(n)]


def double_it(prompt: str) -> str:
    number = int(prompt.split()[2])
    return f"<think>add {number} twice</think>The answer is {2 * number}"


class ArithSuite:
    """A one-task suite over ``records``: the answer is right when the last word is the gold number."""

    name = "reasoning"
    description = "test double suite"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--limit", type=int, default=6)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        return None

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        items = records(int(ctx.option("limit", 6)))

        def score(record: Record, output: Any) -> tuple[dict[str, float], dict[str, Any]]:
            last = output.text.split()[-1] if output.text.split() else ""
            return {"exact_match": float(last == record.answer)}, {"extracted": last}

        task = EvalTask(name="arith", records=items, score=score, metrics=["exact_match"],
                        build_request=lambda r: ChatRequest(messages=[{"role": "user", "content": r.prompt}]))
        outcome = await run_tasks(ctx, [task], concurrency=2)
        samples = outcome.samples["arith"]
        return SuiteOutcome(results=[mean_result("arith", "exact_match", samples)], samples=samples,
                            errors=error_lines(outcome.samples) + ([outcome.aborted] if outcome.aborted else []))


def doubling_target(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(double_it, model=model or "doubler")


def unreachable_target(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(double_it, unavailable=True)


def flaky_target(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(double_it, fail=lambda p: p.split()[2] in {"1", "4"})


def dead_target(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(double_it, fail=lambda p: True)

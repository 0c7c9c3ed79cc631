"""Run a suite against the scripted tool server (a test double) through the real OpenAITarget."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.scripted_tool_server import ScriptedToolServer


async def run_against(server: ScriptedToolServer, mode: str, suite: Any, options: dict[str, Any],
                      prepare: Callable[[OpenAITarget], Awaitable[None]] | None = None) -> SuiteOutcome:
    """One suite run on ``server.url(mode)``; the target is started and stopped around it."""
    target = OpenAITarget(server.url(mode), timeout_s=30)
    await target.start()
    if prepare is not None:
        await prepare(target)
    ctx = RunContext(target=target, options=options, console=Console(file=io.StringIO(), width=100),
                     memory=MemorySampler(), run_key="test", seed=7)
    try:
        return await suite.run(ctx)  # type: ignore[no-any-return]
    finally:
        await target.stop()


def result(outcome: SuiteOutcome, name: str, metric: str) -> Result:
    found = [r for r in outcome.results if r.name == name and r.metric == metric]
    assert len(found) == 1, f"no single {name}/{metric} in {[(r.name, r.metric) for r in outcome.results]}"
    return found[0]

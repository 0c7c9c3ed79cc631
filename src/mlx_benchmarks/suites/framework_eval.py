"""``framework-eval``: fixed multi-step agent tasks with deterministic tools, through each agent framework.

``baseline`` is a plain OpenAI tool-calling loop (``agents.loop``); smolagents, Qwen-Agent, Google ADK and
LangGraph each run natively (``agents/*_runner.py``) against the same target through a loopback adapter. Each
framework is one result: task success rate, with steps, tool calls, tool errors, tokens and latency as tags
and as their own metrics, and the framework's installed versions as tags. A framework that is not installed
stops the run before any generation (exit 2, naming the extra that installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlx_benchmarks.agents import adk_runner, langgraph_runner, qwen_agent_runner, smolagents_runner
from mlx_benchmarks.agents.frameworks import FrameworkRunner, RunSettings
from mlx_benchmarks.agents.loop import AgentRun, run_baseline
from mlx_benchmarks.agents.openai_adapter import TargetAdapterServer
from mlx_benchmarks.agents.tasks import TASKS, AgentTask, select_tasks
from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.catalog import unknown_tasks
from mlx_benchmarks.suites.eval_engine import stderr_of

RUNNERS: dict[str, FrameworkRunner] = {runner.name: runner for runner in (
    smolagents_runner.RUNNER,
    qwen_agent_runner.RUNNER,
    adk_runner.RUNNER,
    langgraph_runner.RUNNER,
)}
FRAMEWORKS = ("baseline", *RUNNERS)
DEFAULT_FRAMEWORKS = "baseline,smolagents"


def parse_frameworks(value: str | None) -> list[str]:
    names = [f.strip() for f in (value or DEFAULT_FRAMEWORKS).split(",") if f.strip()]
    unknown = [f for f in names if f not in FRAMEWORKS]
    if unknown or not names:
        raise UsageError(f"--frameworks: unknown framework {unknown[0] if unknown else ''!r}; "
                         f"choose from: {', '.join(FRAMEWORKS)}")
    return list(dict.fromkeys(names))


def require_installed(frameworks: Sequence[str]) -> None:
    """PrerequisiteError (one line, exit 2) for the first framework asked for that is not installed."""
    for name in frameworks:
        runner = RUNNERS.get(name)
        if runner is not None and (absent := runner.missing()):
            raise PrerequisiteError(f"framework-eval: {name} is not installed ({', '.join(absent)}); "
                                    f"install it with: {runner.install_hint()}")


def load_framework(runner: FrameworkRunner) -> float:
    """Import the framework (seconds it took), so that no task's latency includes its import."""
    started = time.perf_counter()
    try:
        runner.load()
    except Exception as exc:  # installed by name but broken (a missing undeclared dependency, say)
        raise PrerequisiteError(f"framework-eval: {runner.name} cannot be imported ({type(exc).__name__}: {exc}); "
                                f"reinstall it with: {runner.install_hint()}") from None
    return time.perf_counter() - started


def version_tags(runner: FrameworkRunner) -> dict[str, str]:
    """The framework's own version, every package it ran with, and how it was driven."""
    versions = runner.versions()
    return {"framework_version": versions[runner.distributions[0]],
            "framework_packages": " ".join(f"{dist}=={version}" for dist, version in versions.items()),
            "framework_driver": runner.driver}


def sample_of(run: AgentRun) -> dict[str, Any]:
    """One (framework, task) as a journal / samples.parquet record."""
    return {"key": f"{run.framework}/{run.task}/0", "task": run.framework, "id": run.task, "sample_index": 0,
            "score": 1.0 if run.success else 0.0, "scores": {"success": 1.0 if run.success else 0.0},
            "response": run.answer[:2000], "error": run.error, "latency_ms": run.latency_s * 1000,
            "prompt_tokens": run.prompt_tokens, "completion_tokens": run.completion_tokens,
            "detail": {"failure": run.failure, "steps": run.steps, "tool_calls": run.tool_calls,
                       "cached_prompt_tokens": run.cached_prompt_tokens, "retries": run.retries,
                       "tool_errors": run.tool_errors, "transcript": run.transcript[:10]}}


def framework_results(framework: str, samples: Sequence[dict[str, Any]], max_steps: int) -> list[Result]:
    """Success rate (tagged with the totals) plus steps, tool calls, tokens and latency as metrics."""
    n = len(samples)
    success = [float(s["scores"]["success"]) for s in samples]
    details = [s["detail"] for s in samples]
    steps = sum(int(d["steps"]) for d in details)
    calls = sum(int(d["tool_calls"]) for d in details)
    tool_errors = sum(int(d["tool_errors"]) for d in details)
    prompt = sum(int(s["prompt_tokens"] or 0) for s in samples)
    completion = sum(int(s["completion_tokens"] or 0) for s in samples)
    cached = sum(int(d.get("cached_prompt_tokens") or 0) for d in details)
    latency = sum(float(s["latency_ms"] or 0) for s in samples) / 1000
    failures = Counter(str(d["failure"]) for d in details if d.get("failure"))
    headline = Result(name=framework, metric="success_rate", value=sum(success) / n, unit="ratio",
                      duration_seconds=round(latency, 4))
    if latency > 0:
        headline.decode_tokens_per_second = completion / latency
    headline.tag(framework=framework, n_samples=n, stderr=stderr_of(success), higher_is_better=True,
                 max_steps=max_steps, steps_mean=steps / n, tool_calls=calls, tool_errors=tool_errors,
                 prompt_tokens=prompt, completion_tokens=completion, cached_prompt_tokens=cached, latency_s_mean=latency / n,
                 retries=sum(int(d.get("retries") or 0) for d in details),
                 **{f"fail_{k}": v for k, v in sorted(failures.items())})
    extra = [("mean_steps", steps / n, "steps"), ("mean_tool_calls", calls / n, "calls"),
             ("tool_error_rate", tool_errors / calls if calls else 0.0, "ratio"),
             ("mean_tokens", (prompt + completion) / n, "tokens"), ("mean_latency", latency / n, "seconds")]
    results = [headline]
    for metric, value, unit in extra:
        results.append(Result(name=framework, metric=metric, value=value, unit=unit)
                       .tag(framework=framework, n_samples=n, higher_is_better=False))
    return results


def limited(tasks: list[AgentTask], limit: object) -> list[AgentTask]:
    """The first ``limit`` tasks in the suite's fixed order (``--tasks`` picks which; its order does not count)."""
    if limit is None:
        return tasks
    order = {task.id: index for index, task in enumerate(TASKS)}
    return sorted(tasks, key=lambda task: order[task.id])[: int(str(limit))]


class FrameworkEvalSuite:
    """Agent tasks through the baseline loop and each installed framework."""

    name = "framework-eval"
    description = "multi-step agent tasks with local tools: success, steps, tool calls, tokens per framework"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--frameworks", default=DEFAULT_FRAMEWORKS,
                            help=f"comma separated, from: {', '.join(FRAMEWORKS)} (default {DEFAULT_FRAMEWORKS})")
        parser.add_argument("--tasks", default=None, metavar="ID,ID",
                            help=f"agent task ids (default all): {', '.join(t.id for t in TASKS)}")
        parser.add_argument("--limit", type=int, default=None, metavar="N",
                            help="only the first N tasks (of --tasks, in their fixed order)")
        parser.add_argument("--max-steps", type=int, default=8, help="model turns per task before step_limit")
        parser.add_argument("--max-tokens", type=int, default=512, help="generation cap per model turn")

    def validate_options(self, options: Mapping[str, Any]) -> None:
        frameworks = parse_frameworks(options.get("frameworks"))
        try:
            select_tasks(options.get("tasks"))
        except ValueError:
            ids = [task.id for task in TASKS]
            wanted = [t.strip() for t in str(options.get("tasks")).split(",") if t.strip()]
            raise unknown_tasks([t for t in wanted if t not in ids], ids, what="agent task") from None
        limit = options.get("limit")
        if limit is not None and int(limit) < 1:
            raise UsageError("--limit must be at least 1")
        if int(options.get("max_steps") or 8) < 1:
            raise UsageError("--max-steps must be at least 1")
        if int(options.get("max_tokens") or 512) < 1:
            raise UsageError("--max-tokens must be at least 1")
        require_installed(frameworks)

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        frameworks = parse_frameworks(ctx.option("frameworks"))
        require_installed(frameworks)
        # every framework is imported before the first request: a broken one stops the run before any work
        import_s = {name: await asyncio.to_thread(load_framework, RUNNERS[name])
                    for name in frameworks if name in RUNNERS}
        tasks = limited(select_tasks(ctx.option("tasks")), ctx.option("limit"))
        max_steps, max_tokens = int(ctx.option("max_steps", 8)), int(ctx.option("max_tokens", 512))
        outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=max_tokens, temperature=0.0))
        done: dict[str, dict[str, Any]] = ctx.journal.done() if ctx.journal is not None else {}
        for framework in frameworks:
            samples = await self._framework(ctx, framework, tasks, done, max_steps, max_tokens)
            outcome.samples.extend(samples)
            results = framework_results(framework, samples, max_steps)
            versions: dict[str, Any] = {}
            if framework in RUNNERS:
                versions = {**version_tags(RUNNERS[framework]), "framework_import_s": round(import_s[framework], 3)}
            outcome.results.extend(result.tag(n_limit=ctx.option("limit") or "all", **versions)
                                   for result in results)
            failed = [s for s in samples if s["detail"]["failure"] in ("target_error", "framework_error")]
            if failed:
                outcome.errors.append(f"{framework}: {len(failed)} of {len(samples)} tasks failed to run "
                                      f"(e.g. {failed[0]['error']})")
        return outcome

    async def _framework(self, ctx: RunContext, framework: str, tasks: list[AgentTask],
                         done: dict[str, dict[str, Any]], max_steps: int, max_tokens: int) -> list[dict[str, Any]]:
        samples = []
        adapter: TargetAdapterServer | None = None
        try:
            for task in tasks:
                key = f"{framework}/{task.id}/0"
                if key in done:  # --resume: finished tasks are not run again
                    samples.append(done[key])
                    continue
                if framework == "baseline":
                    run = await run_baseline(ctx.target, task, max_steps=max_steps, max_tokens=max_tokens,
                                             seed=ctx.seed, max_retries=ctx.option("max_retries"))
                else:
                    if adapter is None:
                        adapter = TargetAdapterServer(ctx.target, max_tokens=max_tokens, seed=ctx.seed,
                                                      max_retries=ctx.option("max_retries"))
                        await adapter.start()
                    run = await self._external(ctx, RUNNERS[framework], adapter, task, max_steps, max_tokens)
                sample = sample_of(run)
                if ctx.journal is not None:
                    ctx.journal.append(sample)
                samples.append(sample)
                ctx.console.print(f"{framework} {task.id}: {'ok' if run.success else run.failure} "
                                  f"({run.steps} steps, {run.tool_calls} tool calls)", markup=False)
        finally:
            if adapter is not None:
                await adapter.stop()
        return samples

    async def _external(self, ctx: RunContext, runner: FrameworkRunner, adapter: TargetAdapterServer,
                        task: AgentTask, max_steps: int, max_tokens: int) -> AgentRun:
        before = (adapter.stats.prompt_tokens, adapter.stats.completion_tokens, adapter.stats.cached_prompt_tokens,
                  adapter.stats.retries)
        started = asyncio.get_running_loop().time()
        with tempfile.TemporaryDirectory(prefix="mlx-bench-agent-") as tmp:
            folder = Path(tmp)
            task.write_files(folder)
            settings = RunSettings(base_url=adapter.base_url, model=ctx.target.info.model, max_steps=max_steps,
                                   max_tokens=max_tokens, seed=ctx.seed,
                                   timeout_s=float(getattr(ctx.target, "timeout_s", 600.0)))
            # the framework blocks: it runs in a worker thread while this loop serves the adapter
            run = await asyncio.to_thread(runner.run, settings, task, folder)
        run.latency_s = asyncio.get_running_loop().time() - started
        run.prompt_tokens = adapter.stats.prompt_tokens - before[0]
        run.completion_tokens = adapter.stats.completion_tokens - before[1]
        run.cached_prompt_tokens = adapter.stats.cached_prompt_tokens - before[2]
        run.retries = adapter.stats.retries - before[3]
        return run

"""``tool-calling``: BFCL v4 questions sent as OpenAI ``tools`` with ``tool_choice: "auto"``, scored by structure.

Per category (``--tasks``) and overall: accuracy (BFCL's AST checker reproduced, ``scoring.tool_ast``), the share of calls
whose arguments are valid JSON and valid against the declared schema, latency and time to the first tool-call
delta, a failure taxonomy and the path each call came through (native ``tool_calls`` or a text format) as
tags. A request the target refuses (HTTP 400 for a schema) or a truncated stream is a scored failure with its
reason, never a crash.

A target whose chat template cannot render tools (``TargetInfo.supports_tools`` false, or an in-process
template that drops them, as SmolLM2's does) gets the tools in a Hermes-style system prompt instead, and its
calls are read from the text.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.stats import median
from mlx_benchmarks.scoring.tool_ast import REFERENCE, check_sample
from mlx_benchmarks.scoring.tool_parsers import ParsedCall, extract_calls, path_counts
from mlx_benchmarks.scoring.tool_schema import renders_tools, schema_errors, to_openai_tools
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.catalog import unknown_tasks
from mlx_benchmarks.suites.eval_engine import (
    EvalTask,
    ModelOutput,
    error_lines,
    run_tasks,
    stderr_of,
    timing_fields,
)
from mlx_benchmarks.suites.memory_window import TaskWindows
from mlx_benchmarks.targets.base import ChatRequest

HEADLINE = "accuracy"
STRICT = "accuracy_strict"  # BFCL's accuracy, but on irrelevance any tool call (even a broken one) is wrong
HERMES_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> "
    "XML tags. You may call one or more functions to assist with the user query. If none of the functions "
    "fits, answer without calling any. Here are the available tools: <tools>{tools}</tools>\n"
    "For each function call return a JSON object with the function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{{"name": <function-name>, "arguments": <args-dict>}}\n</tool_call>'
)


def parse_tasks(value: str | None) -> list[str]:
    """Category names from ``--tasks`` (comma separated; "all" or nothing means every category)."""
    if not value or value.strip() == "all":
        return list(bfcl.CATEGORIES)
    names = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in names if t not in bfcl.CATEGORIES]
    if unknown:
        raise unknown_tasks(unknown, list(bfcl.CATEGORIES), what="category")
    return list(dict.fromkeys(names))


def error_failure(error: str) -> str:
    """The taxonomy category of a request that failed as a whole."""
    if "HTTP 4" in error and "HTTP 429" not in error:  # 429 is "busy" (retried), not a refusal of the request
        return "rejected"
    if "ended the stream" in error or "closed the stream" in error or "truncated" in error:
        return "truncated"
    return "target_error"


def _schemas(record: Record) -> dict[str, dict[str, Any]]:
    tools, _ = to_openai_tools(record.meta["functions"])
    # only the names the model was sent: a dotted original is "no such function", as BFCL has it
    return {t["function"]["name"]: t["function"]["parameters"] for t in tools}


def score_calls(record: Record, calls: list[ParsedCall]) -> tuple[dict[str, float], dict[str, Any]]:
    """Accuracy, JSON and schema validity of one sample's calls, with the failure detail."""
    meta = record.meta
    verdict = check_sample(meta["kind"], meta["functions"], calls, meta["ground_truth"])
    strict = check_sample(meta["kind"], meta["functions"], calls, meta["ground_truth"], strict=True)
    scores = {HEADLINE: 1.0 if verdict.valid else 0.0, STRICT: 1.0 if strict.valid else 0.0}
    detail: dict[str, Any] = {"failure": verdict.failure, "reason": verdict.reason, "n_calls": len(calls),
                              "paths": path_counts(calls), "calls": [c.to_json() for c in calls]}
    if calls:
        schemas = _schemas(record)
        problems: list[str] = []
        for call in calls:
            if call.arguments is None:
                problems.append(f"{call.name}: arguments are not a JSON object")
            elif call.name not in schemas:
                problems.append(f"{call.name}: no such function")
            else:
                problems.extend(f"{call.name} {e}" for e in schema_errors(call.arguments, schemas[call.name]))
        scores["json_valid"] = 1.0 if all(c.json_valid for c in calls) else 0.0
        scores["schema_valid"] = 0.0 if problems else 1.0
        detail["schema_errors"] = problems[:3]
    return scores, detail


class ToolCallingSuite:
    """BFCL v4 single-turn categories, scored as BFCL's AST checker does."""

    name = "tool-calling"
    description = "BFCL v4 function calling: AST accuracy per category, JSON/schema validity, failure taxonomy"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--tasks", default=None, metavar="CAT,CAT",
                            help=f"BFCL categories (default all): {', '.join(bfcl.CATEGORIES)}")
        parser.add_argument("--limit", type=int, default=None, help="questions per category (seeded sample)")
        parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
        parser.add_argument("--max-tokens", type=int, default=256, help="generation cap per answer (default 256)")
        parser.add_argument("--no-text-calls", dest="text_calls", action="store_false", default=True,
                            help="score only native tool_calls; calls written in the text count as no call")

    def validate_options(self, options: Mapping[str, Any]) -> None:
        parse_tasks(options.get("tasks"))
        limit = options.get("limit")
        if limit is not None and int(limit) < 1:
            raise UsageError("--limit must be at least 1")
        if int(options.get("concurrency") or 4) < 1:
            raise UsageError("--concurrency must be at least 1")
        if int(options.get("max_tokens") or 256) < 1:
            raise UsageError("--max-tokens must be at least 1")

    def _task(self, ctx: RunContext, category: str, records: Sequence[Record], native: bool) -> EvalTask:
        max_tokens = int(ctx.option("max_tokens", 256))
        parse_text = bool(ctx.option("text_calls", True))

        def build_request(record: Record) -> ChatRequest:
            tools, _ = to_openai_tools(record.meta["functions"])
            messages = [dict(m) for m in record.meta["messages"]]
            if native:
                return ChatRequest(messages=messages, max_tokens=max_tokens, temperature=0.0, seed=ctx.seed,
                                   tools=tools, tool_choice="auto")
            prompt = HERMES_SYSTEM.format(tools=json.dumps(tools))
            if messages and messages[0]["role"] == "system":
                messages[0]["content"] = prompt + "\n\n" + str(messages[0]["content"])
            else:
                messages.insert(0, {"role": "system", "content": prompt})
            return ChatRequest(messages=messages, max_tokens=max_tokens, temperature=0.0, seed=ctx.seed)

        def score(record: Record, output: ModelOutput) -> tuple[dict[str, float], dict[str, Any]]:
            calls = extract_calls(output.text, output.tool_calls, parse_text=parse_text or not native)
            scores, detail = score_calls(record, calls)
            completion = output.completion
            detail["first_tool_call_ms"] = completion.since_start_ms(completion.first_tool_call_ns)
            detail["finish_reason"] = completion.finish_reason
            detail["extracted"] = json.dumps([c.to_json() for c in calls])[:2000]
            return scores, detail

        return EvalTask(name=category, records=records, build_request=build_request, score=score,
                        metrics=(HEADLINE, STRICT, "json_valid", "schema_valid"))

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        categories = parse_tasks(ctx.option("tasks"))
        limit = ctx.option("limit")
        native = renders_tools(ctx.target)
        tasks, infos = [], {}
        windows = TaskWindows(ctx)  # memory per category (MLX peak reset at each category's first request)
        for category in categories:
            records, info = bfcl.load(category)
            infos[category] = info
            task = self._task(ctx, category, bfcl.select(records, limit, ctx.seed, category), native)
            tasks.append(replace(task, build_request=windows.wrap(category, task.build_request)))
        evaluated = await run_tasks(ctx, tasks, concurrency=int(ctx.option("concurrency", 4)),
                                    timeout_s=float(getattr(ctx.target, "timeout_s", 600.0)))
        memory = windows.close()
        outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=int(ctx.option("max_tokens", 256)), temperature=0.0))
        outcome.errors.extend(error_lines(evaluated.samples))
        if evaluated.aborted:
            outcome.errors.append(evaluated.aborted)
            outcome.partial = True
        mode = "native" if native else "hermes-system-prompt"
        everything: list[dict[str, Any]] = []
        for category, samples in evaluated.samples.items():
            samples = [score_failed_request(s) for s in samples]
            everything.extend(samples)
            info = infos[category]
            common = {"kind": bfcl.CATEGORIES[category][1], "dataset": info.name, "dataset_source": info.source,
                      "dataset_sha256": info.sha256[:16], "license": info.license, "tool_prompt": mode,
                      "reference": REFERENCE,
                      "n_limit": limit or "all", **memory.get(category, {})}
            outcome.results.extend(category_results(category, samples, evaluated.wall_seconds.get(category), common))
        if len(evaluated.samples) > 1 and everything:
            macro = [r.value for r in outcome.results if r.metric == HEADLINE]
            overall = category_results("overall", everything, sum(evaluated.wall_seconds.values()),
                                       {"tool_prompt": mode, "categories": ",".join(evaluated.samples)})
            overall[0].tag(macro_accuracy=sum(macro) / len(macro))
            outcome.results.extend(overall)
        outcome.samples = everything
        return outcome


def score_failed_request(sample: dict[str, Any]) -> dict[str, Any]:
    """A request that failed as a whole is a scored failure (accuracy 0) with its reason."""
    if not sample.get("error") or sample.get("scores"):
        return sample
    failure = error_failure(str(sample["error"]))
    return {**sample, "score": 0.0, "scores": {HEADLINE: 0.0, STRICT: 0.0},
            "detail": {**(sample.get("detail") or {}), "failure": failure, "reason": str(sample["error"])[:300]}}


def _mean_result(name: str, metric: str, samples: Sequence[dict[str, Any]]) -> Result | None:
    values = [float(s["scores"][metric]) for s in samples if metric in (s.get("scores") or {})]
    if not values:
        return None
    result = Result(name=name, metric=metric, value=sum(values) / len(values), unit="ratio")
    return result.tag(stderr=stderr_of(values), n_samples=len(values), higher_is_better=True)


def _p50(values: Sequence[float | None]) -> float | None:
    return median([float(v) for v in values if v is not None])


def category_results(name: str, samples: Sequence[dict[str, Any]], wall_seconds: float | None,
                     common: Mapping[str, object]) -> list[Result]:
    """Accuracy (with timing, taxonomy and path tags), JSON-valid rate and schema-valid rate of one category."""
    headline = _mean_result(name, HEADLINE, samples) or Result(name=name, metric=HEADLINE, value=0.0, unit="ratio")
    for key, number in timing_fields(samples, wall_seconds).items():
        setattr(headline, key, number)
    details = [s.get("detail") or {} for s in samples]
    failures = Counter(str(d["failure"]) for d in details if d.get("failure"))
    paths: Counter[str] = Counter()
    for d in details:
        paths.update(d.get("paths") or {})
    headline.tag(**common, n_errors=sum(1 for s in samples if s.get("error")),
                 retries=sum(int(s.get("retries") or 0) for s in samples),
                 **{f"fail_{k}": v for k, v in sorted(failures.items())},
                 **{f"path_{k}": v for k, v in sorted(paths.items())})
    latency = _p50([s.get("latency_ms") for s in samples if not s.get("error")])
    first_call = _p50([d.get("first_tool_call_ms") for d in details])
    if latency is not None:
        headline.tag(latency_ms_p50=latency)
    if first_call is not None:
        headline.tag(first_tool_call_ms_p50=first_call)
    results = [headline]
    strict = _mean_result(name, STRICT, samples)
    if strict is not None:
        results.append(strict.tag(of="accuracy, and on irrelevance any tool call is wrong"))
    for metric in ("json_valid", "schema_valid"):
        rate = _mean_result(name, f"{metric}", samples)
        if rate is not None:
            rate.metric = f"{metric}_rate"
            results.append(rate.tag(of="samples with at least one call"))
    return results



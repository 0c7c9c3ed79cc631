"""``knowledge --tasks ifbench``: verifiable instruction following (IFBench), strict and loose.

Each IFBench prompt is sent verbatim as the one user message; the reply (without ``<think>`` blocks, the
engine's rule for every quality task) goes to ``scoring.instructions``. Results, as IFBench's
``evaluation_lib`` reports them: ``prompt_level_strict_acc``, ``prompt_level_loose_acc`` (mean over
prompts) and ``inst_level_strict_acc``, ``inst_level_loose_acc`` (followed / all instructions, pooled).
Prompts whose checkers need NLTK data that is not installed are skipped; the results name them.

IFBench's answers are often long: lm-eval's IFEval allows 1,280 tokens (``--max-tokens 1280``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.scoring.instructions import REFERENCE, check, unverifiable
from mlx_benchmarks.suites.catalog import IF_TASKS
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.quality_common import (
    Defaults,
    QualityOptions,
    QualitySuite,
    TaskRun,
    TaskSpec,
    parse_options,
)
from mlx_benchmarks.targets.base import ChatRequest

PROMPT_METRICS = ("prompt_level_strict_acc", "prompt_level_loose_acc")


def instruction_tasks(options: Mapping[str, Any]) -> bool:
    """True when ``--tasks`` asks for instruction following (alone: UsageError when mixed)."""
    raw = options.get("tasks")
    tasks = [t.strip() for t in str(raw).split(",") if t.strip()] if raw else []
    if not any(t in IF_TASKS for t in tasks):
        return False
    others = [t for t in tasks if t not in IF_TASKS]
    if others:
        raise UsageError(f"--tasks {', '.join(others)} cannot run with {', '.join(IF_TASKS)}: run them separately")
    if (options.get("scoring") or "generate") != "generate":
        raise UsageError("ifbench is generative: --scoring loglikelihood does not apply")
    return True


@dataclasses.dataclass(frozen=True)
class VerbatimOptions(QualityOptions):
    """The quality flags, with the record's prompt sent as it is (IFBench's prompts carry their instructions)."""

    def request(self, record: Record) -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": record.prompt}], max_tokens=self.max_tokens,
                           temperature=self.temperature, top_p=self.top_p)


def score_ifbench(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """Strict and loose verdicts per instruction; a prompt whose checker cannot run is skipped, not failed."""
    ids = list(record.meta["instruction_id_list"])
    skipped = unverifiable(ids)
    if skipped:
        return {}, {"skipped": skipped}
    try:
        verdict = check(record.prompt, ids, record.meta["kwargs"], output.text)
    except LookupError as exc:  # a checker reached NLTK data the static list does not name
        return {}, {"skipped": ids, "why": str(exc).strip().splitlines()[0][:200]}
    scores = {"prompt_level_strict_acc": float(all(verdict.strict)), "prompt_level_loose_acc": float(all(verdict.loose))}
    return scores, {"instruction_id_list": ids, "strict": list(verdict.strict), "loose": list(verdict.loose)}


def summarize_ifbench(run: TaskRun) -> list[Result]:
    """Prompt-level means and pooled instruction-level accuracies, with what was skipped."""
    scored = [s for s in run.samples if not s.get("error") and (s.get("detail") or {}).get("strict") is not None]
    skipped = sorted({i for s in run.samples for i in (s.get("detail") or {}).get("skipped", [])})
    n_skipped = sum(1 for s in run.samples if (s.get("detail") or {}).get("skipped"))
    extra = {"reference": REFERENCE, "n_prompts_skipped": n_skipped, "skipped_instructions": ",".join(skipped) or "none"}
    results = [run.mean(metric, tags=extra) for metric in PROMPT_METRICS]
    total = sum(len(s["detail"]["strict"]) for s in scored)
    for mode in ("strict", "loose"):
        followed = sum(sum(bool(x) for x in s["detail"][mode]) for s in scored)
        result = Result(name=run.name, metric=f"inst_level_{mode}_acc", value=followed / total if total else 0.0,
                        unit="ratio")
        results.append(result.tag(n_instructions=total, n_samples=len(scored), higher_is_better=True,
                                  n_limit=run.opts.limit or "all", **run.tags(), **extra))
    return results


class InstructionFollowing(QualitySuite):
    """IFBench under the ``knowledge`` suite's name (its results land in knowledge runs)."""

    name = "knowledge"
    description = "IFBench: verifiable instruction following, prompt and instruction level, strict and loose"
    task_names = IF_TASKS
    defaults = Defaults(max_tokens=256)

    def options(self, options: Mapping[str, Any]) -> QualityOptions:
        base = parse_options(options, self.task_names, self.defaults)
        return VerbatimOptions(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, PROMPT_METRICS, score_ifbench, summarize_ifbench)

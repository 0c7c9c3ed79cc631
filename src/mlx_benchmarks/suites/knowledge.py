"""``knowledge``: MMLU as generative multiple choice, per subject and as a macro average.

Metrics as for ARC in ``reasoning``: ``exact_match_flan_strict`` / ``exact_match_flan_flexible`` (lm-eval
0.4.13 ``mmlu_flan_cot_zeroshot``'s filters and exact match, on our prompt) and ``accuracy_robust`` (ours). For each
metric M: ``mmlu_<subject>`` / M for each subject, ``mmlu`` / ``M_macro`` (the mean of the subject values,
each subject weighing the same) and ``mmlu`` / M (over all questions, lm-eval's size-weighted aggregate).
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores, timing_fields
from mlx_benchmarks.suites.instruction_following import InstructionFollowing, instruction_tasks
from mlx_benchmarks.suites.loglik_tasks import add_scoring_arguments, loglik_options, run_loglik
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec
from mlx_benchmarks.suites.quant_quality import add_quant_arguments, quant_options, run_quant_quality
from mlx_benchmarks.suites.reasoning import (
    MC_METRICS,
    MC_PROMPT_NOTE,
    MC_REFERENCES,
    metric_tags,
    score_multiple_choice,
)


def subject_of(sample: dict[str, Any]) -> str:
    """The MMLU subject a sample belongs to (kept in its detail by the scorer)."""
    return str((sample.get("detail") or {}).get("subject") or "unknown")


def score_mmlu(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """The multiple-choice metrics, remembering the subject for the per-subject results."""
    scores, detail = score_multiple_choice(record, output)
    detail["subject"] = record.subject or "unknown"
    return scores, detail


def _macro(run: TaskRun, metric: str, per_subject: list[Result], tags: dict[str, object]) -> Result:
    scored = [r for r in per_subject if int(r.tags["n_samples"]) > 0]
    macro = sum(r.value for r in scored) / len(scored) if scored else 0.0
    # the macro mean's standard error: subjects are independent, so the variances add
    macro_se = math.sqrt(sum(float(r.tags["stderr"]) ** 2 for r in scored)) / len(scored) if scored else 0.0
    result = Result(name="mmlu", metric=f"{metric}_macro", value=macro, unit="ratio")
    for key, value in timing_fields(run.samples, run.wall_seconds).items():
        setattr(result, key, value)
    result.tag(stderr=macro_se, n_samples=sum(int(r.tags["n_samples"]) for r in per_subject),
               n_subjects=len(scored), n_errors=sum(1 for s in run.samples if s.get("error")),
               n_limit=run.opts.limit if run.opts.limit else "all", higher_is_better=True,
               **{**run.tags(), **tags})
    return result


def summarize_mmlu(run: TaskRun) -> list[Result]:
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in run.samples:
        by_subject[subject_of(sample)].append(sample)
    macros, micros, subjects = [], [], []
    for metric in MC_METRICS:
        tags = metric_tags(run, metric, MC_REFERENCES, prompt=MC_PROMPT_NOTE)
        # a subject whose every sample errored has no value; it is counted in n_errors, not averaged
        per_subject = [run.mean(metric, name=f"mmlu_{subject}", samples=samples,
                                tags={"subject": subject, "reference": tags["reference"]})
                       for subject, samples in sorted(by_subject.items())]
        macros.append(_macro(run, metric, per_subject, tags))
        n_subjects = sum(1 for r in per_subject if int(r.tags["n_samples"]) > 0)
        micros.append(run.mean(metric, tags={**tags, "n_subjects": n_subjects}))
        subjects.extend(per_subject)
    return [*macros, *micros, *subjects]


class KnowledgeSuite(QualitySuite):
    """MMLU accuracy per subject, macro-averaged."""

    name = "knowledge"
    description = "MMLU (generative multiple choice): per-subject accuracy and the macro average"
    task_names = ("mmlu",)
    defaults = Defaults(max_tokens=256)

    loglik_task_names = ("mmlu", "boolq", "openbookqa", "sciq")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        add_scoring_arguments(parser, self.loglik_task_names)
        add_quant_arguments(parser)  # perplexity / kl_divergence (suites.quant_quality)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        if instruction_tasks(options):  # ifbench (suites.instruction_following)
            InstructionFollowing().validate_options(options)
        elif quant_options(options) is None and loglik_options(options, self.loglik_task_names) is None:
            super().validate_options(options)

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        if instruction_tasks(ctx.options):
            return await InstructionFollowing().run(ctx)
        quant = quant_options(ctx.options)
        if quant is not None:
            return await run_quant_quality(ctx, quant)
        opts = loglik_options(ctx.options, self.loglik_task_names)
        return await (run_loglik(ctx, opts) if opts is not None else super().run(ctx))

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, MC_METRICS, score_mmlu, summarize_mmlu)

"""``reasoning``: GSM8K (chain of thought, zero-shot) and ARC-Challenge (generative multiple choice).

GSM8K is scored as lm-eval's ``gsm8k_cot_zeroshot``: ``exact_match_strict`` reads the number after
"The answer is", ``exact_match_flexible`` the last number in the reply; both compare after removing
commas, ``$`` and a trailing period. ARC's ``accuracy`` compares the extracted option letter.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.scoring.extract import (
    extract_letter,
    gsm8k_flexible,
    gsm8k_gold,
    gsm8k_strict,
    numbers_equal,
)
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.loglik_tasks import add_scoring_arguments, loglik_options, run_loglik
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec

GSM8K_METRICS = ("exact_match_strict", "exact_match_flexible")


def score_gsm8k(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """Strict and flexible exact match of the reply's number against the gold number."""
    gold = gsm8k_gold(record.answer)
    strict, flexible = gsm8k_strict(output.text), gsm8k_flexible(output.text)
    scores = {"exact_match_strict": float(numbers_equal(strict, gold)),
              "exact_match_flexible": float(numbers_equal(flexible, gold))}
    return scores, {"extracted": strict, "extracted_flexible": flexible, "gold": gold}


def score_multiple_choice(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """Accuracy of the extracted option letter; no letter found is wrong (and counted as unparsed)."""
    letter = extract_letter(output.text, len(record.choices), record.choices)
    gold = record.answer.strip().upper()
    return {"accuracy": float(letter == gold)}, {"extracted": letter, "gold": gold}


def unparsed_count(samples: list[dict[str, Any]]) -> int:
    """Scored samples where no answer could be extracted."""
    return sum(1 for s in samples if not s.get("error") and s.get("extracted") in (None, ""))


def summarize_mc(run: TaskRun) -> list[Result]:
    return [run.mean("accuracy", tags={"n_unparsed": unparsed_count(run.samples)})]


def summarize_gsm8k(run: TaskRun) -> list[Result]:
    unparsed_flexible = sum(1 for s in run.samples if not s.get("error")
                            and (s.get("detail") or {}).get("extracted_flexible") is None)
    return [run.mean("exact_match_strict", tags={"n_unparsed": unparsed_count(run.samples)}),
            run.mean("exact_match_flexible", tags={"n_unparsed": unparsed_flexible})]


class ReasoningSuite(QualitySuite):
    """GSM8K chain-of-thought exact match and ARC-Challenge accuracy."""

    name = "reasoning"
    description = "GSM8K (CoT zero-shot, strict/flexible exact match) and ARC-Challenge (generative MC)"
    task_names = ("gsm8k", "arc_challenge")
    defaults = Defaults(max_tokens=512)

    loglik_task_names = ("arc_easy", "arc_challenge", "hellaswag", "piqa", "winogrande")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        add_scoring_arguments(parser, self.loglik_task_names)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        if loglik_options(options, self.loglik_task_names) is None:
            super().validate_options(options)

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        opts = loglik_options(ctx.options, self.loglik_task_names)
        return await (run_loglik(ctx, opts) if opts is not None else super().run(ctx))

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        if name == "gsm8k":
            return TaskSpec(name, GSM8K_METRICS, score_gsm8k, summarize_gsm8k)
        return TaskSpec(name, ("accuracy",), score_multiple_choice, summarize_mc)

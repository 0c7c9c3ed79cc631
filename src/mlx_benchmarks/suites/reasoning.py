"""``reasoning``: GSM8K (chain of thought, zero-shot) and ARC-Challenge (generative multiple choice).

GSM8K: ``exact_match_strict`` and ``exact_match_flexible`` are lm-eval 0.4.13 ``gsm8k_cot_zeroshot``'s
strict-match and flexible-extract filters with its ``exact_match`` settings, quirks included;
``exact_match_lenient`` is our reading (the last "answer is N", else the last number; "20-13" is not -13).
ARC (and MMLU in ``knowledge``): ``exact_match_flan_strict`` / ``exact_match_flan_flexible`` are the filters
and exact match of lm-eval's ``mmlu_flan_cot_zeroshot`` (the generative MC task that asks for "The answer is
X"), named apart from lm-eval's task metrics because our prompt is not that task's; ``accuracy_robust`` is
our letter extraction. Thinking rule, every metric: the reply after its last ``</think>`` (lm-eval's
``think_end_token``); a reply without one, an unclosed ``<think>`` included, is read whole. The lm-eval
metrics also cut it at the task's stop sequences (``until``), as lm-eval's server request would have.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.scoring.extract import (
    GSM8K_UNTIL,
    MC_UNTIL,
    extract_letter,
    gsm8k_gold,
    gsm8k_lenient,
    gsm8k_reference,
    gsm8k_reference_match,
    mc_reference,
    mc_reference_match,
    numbers_equal,
)
from mlx_benchmarks.scoring.lm_eval_filters import FALLBACK, LM_EVAL, reply_view
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.loglik_tasks import add_scoring_arguments, loglik_options, run_loglik
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec

GSM8K_METRICS = ("exact_match_strict", "exact_match_flexible", "exact_match_lenient")
MC_METRICS = ("exact_match_flan_strict", "exact_match_flan_flexible", "accuracy_robust")
OURS = "mlx-bench"
THINK_RULE = "after the last </think>, else the whole reply"
GSM8K_REFERENCES = {"exact_match_strict": f"{LM_EVAL} gsm8k_cot_zeroshot strict-match",
                    "exact_match_flexible": f"{LM_EVAL} gsm8k_cot_zeroshot flexible-extract",
                    "exact_match_lenient": OURS}
MC_REFERENCES = {"exact_match_flan_strict": f"{LM_EVAL} mmlu_flan_cot_zeroshot strict-match filter",
                 "exact_match_flan_flexible": f"{LM_EVAL} mmlu_flan_cot_zeroshot flexible-extract filter",
                 "accuracy_robust": OURS}
# the filters are lm-eval's; the prompt is ours (no lm-eval task asks our MC prompt word for word)
MC_PROMPT_NOTE = "mlx-bench prompt"
# extraction detail key of each metric (the headline's is "extracted")
DETAIL_KEYS = {"exact_match_strict": "extracted", "exact_match_flexible": "extracted_flexible",
               "exact_match_flan_strict": "extracted", "exact_match_flan_flexible": "extracted_flexible",
               "exact_match_lenient": "extracted_lenient", "accuracy_robust": "extracted_robust"}


def _found(filtered: str) -> str | None:
    return None if filtered == FALLBACK else filtered


def gsm8k_target(record: Record) -> str:
    """lm-eval's target: the whole GSM8K solution (its regexes cut it down to the number after ####)."""
    solution = record.meta.get("solution")
    return str(solution) if isinstance(solution, str) and "####" in solution else f"#### {record.answer}"


def score_gsm8k(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """lm-eval's strict and flexible exact match, and our lenient one, on the reply after its thinking."""
    reply = reply_view(output.raw_text)
    strict, flexible = gsm8k_reference(reply_view(output.raw_text, GSM8K_UNTIL))
    target, gold = gsm8k_target(record), gsm8k_gold(record.answer)
    lenient = gsm8k_lenient(reply)
    scores = {"exact_match_strict": float(gsm8k_reference_match(strict, target)),
              "exact_match_flexible": float(gsm8k_reference_match(flexible, target)),
              "exact_match_lenient": float(numbers_equal(lenient, gold))}
    return scores, {"extracted": _found(strict), "extracted_flexible": _found(flexible),
                    "extracted_lenient": lenient, "gold": gold}


def score_multiple_choice(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
    """lm-eval's flan-CoT strict and flexible exact match, and our robust letter, on the reply after its thinking."""
    reply = reply_view(output.raw_text)
    gold = record.answer.strip().upper()
    strict, flexible = mc_reference(reply_view(output.raw_text, MC_UNTIL), record.choices)
    letter = extract_letter(reply, len(record.choices), record.choices)
    scores = {"exact_match_flan_strict": float(mc_reference_match(strict, gold)),
              "exact_match_flan_flexible": float(mc_reference_match(flexible, gold)),
              "accuracy_robust": float(letter == gold)}
    return scores, {"extracted": _found(strict), "extracted_flexible": _found(flexible),
                    "extracted_robust": letter, "gold": gold}


def unparsed_count(samples: list[dict[str, Any]], key: str = "extracted") -> int:
    """Scored samples where no answer could be extracted (``key``: the detail holding the extraction)."""
    def value(sample: dict[str, Any]) -> Any:
        return sample.get("extracted") if key == "extracted" else (sample.get("detail") or {}).get(key)

    return sum(1 for s in samples if not s.get("error") and value(s) in (None, ""))


def metric_tags(run: TaskRun, metric: str, references: Mapping[str, str], **extra: object) -> dict[str, object]:
    """What every result of a generative metric carries: its reference, the thinking rule, unparsed replies."""
    return {"reference": references[metric], "think_rule": THINK_RULE, "scoring": "generate",
            "n_unparsed": unparsed_count(run.samples, DETAIL_KEYS[metric]), **extra}


def summarize_mc(run: TaskRun) -> list[Result]:
    return [run.mean(m, tags=metric_tags(run, m, MC_REFERENCES, prompt=MC_PROMPT_NOTE)) for m in MC_METRICS]


def summarize_gsm8k(run: TaskRun) -> list[Result]:
    return [run.mean(m, tags=metric_tags(run, m, GSM8K_REFERENCES)) for m in GSM8K_METRICS]


class ReasoningSuite(QualitySuite):
    """GSM8K chain-of-thought exact match and ARC-Challenge accuracy."""

    name = "reasoning"
    description = "GSM8K (CoT zero-shot, lm-eval strict/flexible exact match) and ARC-Challenge (generative MC)"
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
        return TaskSpec(name, MC_METRICS, score_multiple_choice, summarize_mc)

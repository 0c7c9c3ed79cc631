"""Differential tests: our lm-eval-named metrics against lm-evaluation-harness 0.4.13 on identical replies.

GSM8K ``exact_match_strict`` / ``exact_match_flexible`` against ``gsm8k_cot_zeroshot``'s strict-match and
flexible-extract; ARC and MMLU ``exact_match_flan_strict`` / ``exact_match_flan_flexible`` against
``mmlu_flan_cot_zeroshot``'s. Replies come from the datasets (``tests/scoring/reply_variants.py``);
agreement must be total. lm-eval runs from its own YAML and objects (``tests/scoring/lm_eval_reference.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores, split_reasoning
from mlx_benchmarks.suites.reasoning import score_gsm8k, score_multiple_choice
from tests.scoring.lm_eval_reference import LmEvalTask
from tests.scoring.reply_variants import gsm8k_replies, mc_replies

GSM8K_YAML = "gsm8k/gsm8k-cot-zeroshot.yaml"
FLAN_YAML = "mmlu/flan_cot_zeroshot/_mmlu_flan_cot_zeroshot_template_yaml"
GSM8K_METRIC_OF_FILTER = {"strict-match": "exact_match_strict", "flexible-extract": "exact_match_flexible"}
FLAN_METRIC_OF_FILTER = {"strict-match": "exact_match_flan_strict", "flexible-extract": "exact_match_flan_flexible"}
# MLX_BENCH_REFERENCE_FULL=1: 1,000 records per task (about 100,000 replies) instead of CI's 150
RECORDS_PER_TASK = 1000 if os.environ.get("MLX_BENCH_REFERENCE_FULL") else 150


def output_of(text: str) -> ModelOutput:
    """What the engine hands a scorer for a reply ``text``."""
    answer, thought = split_reasoning(text)
    return ModelOutput(text=answer, raw_text=text, reasoning=thought, tool_calls=[], completion=Completion(start_ns=0))


def compare(task: LmEvalTask, records: list[Record], replies: Callable[[Record], Iterator[str]],
            scorer: Callable[[Record, ModelOutput], tuple[Scores, dict[str, Any]]],
            doc: Callable[[Record], dict[str, Any]], target: Callable[[Record], str],
            metric_of_filter: dict[str, str]) -> tuple[int, int, list[str]]:
    """(replies compared, of which lm-eval scored right, disagreements) over every reply of every record."""
    cases = [(record, reply) for record in records for reply in replies(record)]
    reference = task.scores([(reply, doc(record), target(record)) for record, reply in cases])
    disagreements, right = [], 0
    for (record, reply), theirs in zip(cases, reference, strict=True):
        ours, _ = scorer(record, output_of(reply))
        right += int(theirs["strict-match"])
        for filter_name, value in theirs.items():
            metric = metric_of_filter[filter_name]
            if ours[metric] != value:
                disagreements.append(f"{record.id} {metric}: lm-eval={value} ours={ours[metric]} {reply!r}"[:300])
    return len(cases), right, disagreements


def test_gsm8k_strict_and_flexible_agree_with_lm_eval() -> None:
    task = LmEvalTask(GSM8K_YAML)
    records = select(load_dataset("gsm8k"), RECORDS_PER_TASK, seed=14)
    total, right, disagreements = compare(
        task, records, gsm8k_replies, score_gsm8k, doc=lambda r: {"question": r.prompt, "answer": r.meta["solution"]},
        target=lambda r: str(r.meta["solution"]), metric_of_filter=GSM8K_METRIC_OF_FILTER)
    print(f"\nGSM8K: {total} replies x 2 filters, lm-eval strict right on {right}, disagreements {len(disagreements)}")
    assert total > 4000 and 0.2 < right / total < 0.8
    assert not disagreements, "\n".join(disagreements[:20])


@pytest.mark.parametrize("dataset", ["arc_challenge", "mmlu"])
def test_multiple_choice_strict_and_flexible_agree_with_lm_eval_flan_cot(dataset: str) -> None:
    task = LmEvalTask(FLAN_YAML)
    records = select(load_dataset(dataset), RECORDS_PER_TASK, seed=14)
    total, right, disagreements = compare(
        task, records, mc_replies, score_multiple_choice, doc=lambda r: {"question": r.prompt, "choices": list(r.choices)},
        target=lambda r: f"({r.answer})", metric_of_filter=FLAN_METRIC_OF_FILTER)
    print(f"\n{dataset}: {total} replies x 2 filters, lm-eval strict right on {right}, disagreements {len(disagreements)}")
    assert total > 4000 and 0.2 < right / total < 0.8
    assert not disagreements, "\n".join(disagreements[:20])

"""The scorers are proven right on every record: gold answers score 1.0, wrong answers 0.0.

In process, without HTTP: each record's reply is built by the gold-answer (or wrong-answer) test double
and passed through the engine's think stripping and the suite's own scorer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.scoring.math_equiv import SymbolicChecker
from mlx_benchmarks.suites.coding import run_code
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores, split_reasoning
from mlx_benchmarks.suites.knowledge import score_mmlu
from mlx_benchmarks.suites.math_hard import score_math
from mlx_benchmarks.suites.reasoning import score_gsm8k, score_multiple_choice
from tests.doubles.gold_target import gold_answer, thinking_gold, wrong_answer

Scorer = Callable[[Record, ModelOutput], tuple[Scores, dict[str, Any]]]


def output_of(text: str) -> ModelOutput:
    """What the engine hands a scorer for a reply ``text``."""
    answer, thought = split_reasoning(text)
    return ModelOutput(text=answer, raw_text=text, reasoning=thought, tool_calls=[], completion=Completion(start_ns=0))


def scores_for(records: list[Record], reply: Callable[[Record], str], scorer: Scorer,
               workers: int = 1) -> list[tuple[Record, Scores, dict[str, Any]]]:
    def one(record: Record) -> tuple[Record, Scores, dict[str, Any]]:
        scores, detail = scorer(record, output_of(reply(record)))
        return record, scores, detail

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, records))


def misses(results: list[tuple[Record, Scores, dict[str, Any]]], expected: float) -> list[str]:
    return [f"{r.id}: {s} {d}"[:300] for r, s, d in results if any(v != expected for v in s.values())]


@pytest.fixture(scope="module")
def checker() -> Iterator[SymbolicChecker]:
    with SymbolicChecker(timeout_s=5.0) as worker:
        yield worker


@pytest.mark.parametrize(("dataset", "scorer"), [
    ("gsm8k", score_gsm8k), ("arc_challenge", score_multiple_choice), ("mmlu", score_mmlu),
])
def test_text_tasks_gold_scores_one_and_wrong_scores_zero_on_every_record(dataset: str, scorer: Scorer) -> None:
    records = load_dataset(dataset)
    assert len(records) > 1000
    assert misses(scores_for(records, gold_answer, scorer), 1.0) == []
    assert misses(scores_for(records, wrong_answer, scorer), 0.0) == []


def test_gsm8k_gold_behind_a_decoy_think_block_still_scores_one() -> None:
    records = load_dataset("gsm8k")
    assert misses(scores_for(records, thinking_gold, score_gsm8k), 1.0) == []


def test_math500_gold_solutions_score_one_and_wrong_answers_zero(checker: SymbolicChecker) -> None:
    records = load_dataset("math500")
    assert len(records) == 500

    def scorer(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
        return score_math(record, output, checker=checker)

    gold = scores_for(records, gold_answer, scorer)
    assert misses(gold, 1.0) == []  # the last \boxed{} of each reference solution is its gold answer
    wrong = scores_for(select(records, 100, seed=7), wrong_answer, scorer)
    assert misses(wrong, 0.0) == []


def test_math500_boxed_gold_answer_alone_scores_one(checker: SymbolicChecker) -> None:
    records = load_dataset("math500")

    def scorer(record: Record, output: ModelOutput) -> tuple[Scores, dict[str, Any]]:
        return score_math(record, output, checker=checker)

    results = scores_for(records, lambda r: f"The final answer is $\\boxed{{{r.answer}}}$.", scorer)
    assert [f"{r.id} {d}" for r, s, d in results if s["accuracy"] != 1.0] == []


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["humaneval", "mbpp"])
def test_code_gold_passes_every_problem_and_wrong_code_none(dataset: str) -> None:
    records = load_dataset(dataset)
    # a generous limit: the reference solutions run 4 at a time on a shared machine
    gold = scores_for(records, gold_answer, lambda r, o: run_code(r, o, timeout_s=60.0), workers=4)
    assert misses(gold, 1.0) == []
    forms = {d["form"] for _, _, d in gold}
    assert forms >= {"full"} and (dataset == "mbpp" or "continuation" in forms)
    wrong = scores_for(select(records, 80, seed=3), wrong_answer, run_code, workers=4)
    assert misses(wrong, 0.0) == []
    assert {d["failure"] for _, _, d in wrong} == {"wrong_answer"}

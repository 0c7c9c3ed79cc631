"""Ranked-classification metrics against lm-eval's own ``process_results`` on the same log-likelihoods.

lm-eval 0.4.13 is installed in the test environment (dev extra); its multiple-choice branch runs unbound on
a minimal stand-in for a task, so the decision being compared is lm-eval's code, not a copy of it.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy
import pytest

from mlx_benchmarks.scoring.loglik import argmax, choice_text, predictions, rank_scores
from mlx_benchmarks.targets.loglik import ChoiceScore

task_module = pytest.importorskip("lm_eval.api.task", reason="lm-eval is in the dev extra")


def lm_eval_scores(continuations: list[str], lls: list[float], gold: int) -> dict[str, Any]:
    choices = [choice_text(c) for c in continuations]  # lm-eval's doc_to_choice: without the delimiter
    stand_in = SimpleNamespace(
        config=SimpleNamespace(process_results=None), OUTPUT_TYPE="multiple_choice",
        _metric_fn_list={"acc": None, "acc_norm": None}, doc_to_choice=lambda doc: choices,
        doc_to_target=lambda doc: gold, multiple_input=False, multiple_target=False,
    )
    results = [(ll, False) for ll in lls]
    out: dict[str, Any] = task_module.ConfigurableTask.process_results(stand_in, {}, results)
    return out


def random_question(rng: random.Random) -> tuple[list[str], list[float], int]:
    n = rng.randint(2, 5)
    words = ["a", "cat", "photosynthesis", "the producers", "yes", "no", "Sunlight is the source", "é"]
    continuations = [" " + " ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(n)]
    # coarse values make ties common, both of raw and of length-normalised log-likelihoods
    lls = [-float(rng.randint(0, 12)) * rng.choice((1.0, 0.5, 0.25)) for _ in range(n)]
    return continuations, lls, rng.randrange(n)


def test_acc_and_acc_norm_agree_with_lm_eval_on_5000_questions() -> None:
    rng = random.Random(7)
    disagreements = []
    for number in range(5000):
        continuations, lls, gold = random_question(rng)
        ours = rank_scores([ChoiceScore(v, False, 1) for v in lls], continuations, gold)
        theirs = lm_eval_scores(continuations, lls, gold)
        if (ours["acc"], ours["acc_norm"]) != (theirs["acc"], theirs["acc_norm"]):
            disagreements.append((number, continuations, lls, gold, ours, theirs))
    assert not disagreements, disagreements[:3]


def test_ties_go_to_the_first_choice_as_numpy_argmax() -> None:
    assert argmax([-1.0, -1.0, -2.0]) == 0
    assert argmax([-3.0, -1.0, -1.0]) == 1
    assert argmax([-1.0, float("nan"), -0.5]) == int(numpy.argmax([-1.0, float("nan"), -0.5])) == 1


def test_olmes_per_char_counts_the_leading_space_and_lm_eval_does_not() -> None:
    # " ab" (3 chars with the space) vs " abcd" (5): raw -3 vs -4.5
    scores = [ChoiceScore(-3.0, False, 1), ChoiceScore(-4.5, False, 3)]
    picked = predictions(scores, [" ab", " abcd"])
    assert picked["acc"] == 0
    assert picked["acc_norm"] == 1  # -3/2 = -1.5 vs -4.5/4 = -1.125
    assert picked["acc_per_char"] == 1  # -3/3 = -1.0 vs -4.5/5 = -0.9
    assert picked["acc_per_token"] == 1  # -3/1 = -3.0 vs -4.5/3 = -1.5

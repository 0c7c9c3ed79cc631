"""Ranked classification from per-choice log-likelihoods: lm-eval's ``acc``/``acc_norm`` and OLMES' variant.

Definitions reproduced (per question; ties go to the first choice, as ``numpy.argmax`` gives):
- ``acc`` (lm-eval 0.4 ``multiple_choice``; OLMES ``acc_raw``): argmax of the summed log-likelihoods.
- ``acc_norm`` (lm-eval): argmax of log-likelihood / len(choice text), where the choice text is the
  continuation without lm-eval's target delimiter (one leading space).
- ``acc_per_char`` (OLMES ``acc_per_char``, OLMo's ``len_norm``): argmax of log-likelihood / len(continuation),
  leading space included.
- ``acc_per_token`` (OLMES ``acc_per_token``): argmax of log-likelihood / number of continuation tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlx_benchmarks.targets.loglik_base import ChoiceScore

LM_EVAL_DELIMITER = " "
METRICS = ("acc", "acc_norm", "acc_per_char", "acc_per_token")
REFERENCES = {
    "acc": "lm-eval 0.4 multiple_choice acc (= OLMES acc_raw)",
    "acc_norm": "lm-eval 0.4 multiple_choice acc_norm",
    "acc_per_char": "OLMES acc_per_char (OLMo len_norm)",
    "acc_per_token": "OLMES acc_per_token",
}


def argmax(values: Sequence[float]) -> int:
    """``numpy.argmax``: the first index of the largest value; a NaN, if any, wins (the first one)."""
    best = 0
    for index, value in enumerate(values):
        if value != value:  # NaN
            return index
        if value > values[best]:
            best = index
    return best


def choice_text(continuation: str) -> str:
    """lm-eval's choice: the continuation without its target delimiter."""
    return continuation.removeprefix(LM_EVAL_DELIMITER)


def _normalised(scores: Sequence[ChoiceScore], lengths: Sequence[float]) -> list[float]:
    return [s.logprob / n if n > 0 else float("-inf") for s, n in zip(scores, lengths, strict=True)]


PICKERS: dict[str, Callable[[Sequence[ChoiceScore], Sequence[str]], int]] = {
    "acc": lambda s, c: argmax([x.logprob for x in s]),
    "acc_norm": lambda s, c: argmax(_normalised(s, [float(len(choice_text(x))) for x in c])),
    "acc_per_char": lambda s, c: argmax(_normalised(s, [float(len(x)) for x in c])),
    "acc_per_token": lambda s, c: argmax(_normalised(s, [float(x.n_tokens) for x in s])),
}


def rank_scores(scores: Sequence[ChoiceScore], continuations: Sequence[str], gold: int) -> dict[str, float]:
    """1.0 / 0.0 per metric for one question."""
    if len(scores) != len(continuations) or not scores:
        raise ValueError("one score per continuation is needed")
    return {metric: float(pick(scores, continuations) == gold) for metric, pick in PICKERS.items()}


def predictions(scores: Sequence[ChoiceScore], continuations: Sequence[str]) -> dict[str, int]:
    """The chosen index per metric (kept in each sample's detail)."""
    return {metric: pick(scores, continuations) for metric, pick in PICKERS.items()}

"""The log-likelihood value types shared by the scorers (``targets.loglik`` chooses one per target)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChoiceScore:
    """A continuation's summed log-probability given its context, and whether it is the greedy reply."""

    logprob: float
    is_greedy: bool
    n_tokens: int


class LoglikScorer(Protocol):
    """Scores the (context, continuation) pairs of one question."""

    method: str  # how the figures are computed, for the results' tags

    async def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[ChoiceScore]:
        """One ChoiceScore per pair, in order."""
        ...


def encode_pair(encode: Callable[[str], list[int]], context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's ``_encode_pair``: (context tokens, continuation tokens)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    context_ids = encode(context)
    return context_ids, whole[len(context_ids):]

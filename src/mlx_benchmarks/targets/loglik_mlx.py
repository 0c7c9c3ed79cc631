"""Log-likelihoods in process on MLX: one prefill of a question's shared context, then each continuation.

The context's KV cache is computed once; each continuation runs on it and is trimmed off again, so a
four-choice ARC question costs one context prefill plus four short passes (``mlx_lm.evaluate`` does the
same with a deep copy of the cache per continuation). Left truncation to the model's context follows
lm-eval: ``(context + continuation)[-(max_length + 1):][:-1]`` is the input.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from mlx_benchmarks.targets.loglik_base import ChoiceScore, encode_pair
from mlx_benchmarks.targets.mlx_inproc import MLXTarget

DEFAULT_MAX_LENGTH = 2048  # lm-eval's HFLM default when a model states no context length
PREFILL_STEP = 2048


class MLXLoglik:
    """``LoglikScorer`` over an in-process MLX target; all MLX work runs on the target's worker thread."""

    method = "mlx in process: lm-eval encode_pair, shared-context prefill, float32 log-softmax"

    def __init__(self, target: MLXTarget) -> None:
        self.target = target

    async def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[ChoiceScore]:
        encoded = [encode_pair(self.target.encode, context, continuation) for context, continuation in pairs]
        max_length = self.target.context_tokens or DEFAULT_MAX_LENGTH
        scores: list[ChoiceScore] = await self.target.run_in_worker(score_encoded, self.target.loaded[0],
                                                                   encoded, max_length)
        return scores


def score_encoded(model: Any, encoded: Sequence[tuple[list[int], list[int]]], max_length: int) -> list[ChoiceScore]:
    """Scores of (context ids, continuation ids) pairs; pairs sharing context ids share one prefill."""
    out: list[ChoiceScore | None] = [None] * len(encoded)
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, (context, continuation) in enumerate(encoded):
        if not continuation:
            raise ValueError("a continuation must have at least one token")
        fits = len(context) + len(continuation) <= max_length + 1
        groups.setdefault(tuple(context) if fits else (-1 - index,), []).append(index)
    for key, members in groups.items():
        if key[0] < 0:  # too long for the model: this pair alone, truncated on the left as lm-eval does
            context, continuation = encoded[members[0]]
            whole = (context + continuation)[-(max_length + 1):]
            context, continuation = whole[: len(whole) - len(continuation)], continuation
            out[members[0]] = _score_group(model, context, [continuation])[0]
            continue
        for member, score in zip(members, _score_group(model, list(key), [encoded[m][1] for m in members]),
                                 strict=True):
            out[member] = score
    return [score for score in out if score is not None]


def _score_group(model: Any, context: list[int], continuations: Sequence[list[int]]) -> list[ChoiceScore]:
    import mlx.core as mx
    from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

    if not context:
        raise ValueError("an empty context needs a prefix token; lm-eval's tasks here never have one")
    cache = make_prompt_cache(model)
    tokens = mx.array(context)[None]
    for start in range(0, len(context), PREFILL_STEP):
        logits = model(tokens[:, start: start + PREFILL_STEP], cache=cache)
        mx.eval(logits)
    first = _log_softmax(mx, logits[0, -1].astype(mx.float32))
    first_best = int(mx.argmax(first))
    trimmable = can_trim_prompt_cache(cache)
    scores = []
    for continuation in continuations:
        logprob = float(first[continuation[0]])
        greedy = first_best == continuation[0]
        if len(continuation) > 1:
            run_cache = cache if trimmable else copy.deepcopy(cache)
            rest = model(mx.array(continuation[:-1])[None], cache=run_cache)
            logprobs = _log_softmax(mx, rest[0].astype(mx.float32))
            targets = mx.array(continuation[1:])
            picked = mx.take_along_axis(logprobs, targets[:, None], axis=-1)[:, 0]
            best = mx.argmax(logprobs, axis=-1)
            mx.eval(picked, best)
            logprob += float(mx.sum(picked))
            greedy = greedy and bool(mx.all(best == targets))
            if trimmable:
                trim_prompt_cache(cache, len(continuation) - 1)
        scores.append(ChoiceScore(logprob=logprob, is_greedy=greedy, n_tokens=len(continuation)))
    return scores


def _log_softmax(mx: Any, logits: Any) -> Any:
    """``mlx.nn.log_softmax``'s own formula (x - logsumexp(x)), over the vocabulary axis."""
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)

"""Log-likelihoods in process on MLX: one prefill of a question's shared context, then each continuation.

The context's KV cache is computed once; the continuations then run as one right-padded batch on copies
of it, so a four-choice ARC question costs one context prefill plus one short batched pass
(``mlx_lm.evaluate`` runs each continuation on a deep copy of the cache). Caches other than the plain
KV cache run the continuations one by one, trimming the cache back after each. Left truncation to the model's context follows
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
    from mlx_lm.models.cache import make_prompt_cache

    if not context:
        raise ValueError("an empty context needs a prefix token; lm-eval's tasks here never have one")
    cache = make_prompt_cache(model)
    tokens = mx.array(context)[None]
    for start in range(0, len(context), PREFILL_STEP):
        logits = model(tokens[:, start: start + PREFILL_STEP], cache=cache)
        mx.eval(logits)
    first = _log_softmax(mx, logits[0, -1].astype(mx.float32))
    first_best = int(mx.argmax(first))
    if len(continuations) > 1 and all(type(c).__name__ == "KVCache" for c in cache):
        rest_scores = _continuations_batched(model, cache, continuations)
    else:
        rest_scores = _continuations_one_by_one(model, cache, continuations)
    return [ChoiceScore(logprob=float(first[c[0]]) + rest, is_greedy=first_best == c[0] and greedy, n_tokens=len(c))
            for c, (rest, greedy) in zip(continuations, rest_scores, strict=True)]


def _continuations_batched(model: Any, cache: list[Any], continuations: Sequence[list[int]]) -> list[tuple[float, bool]]:
    """Every continuation's tokens after the first in one batch, on copies of the context's KV cache.

    Right padding is harmless: a causal model's position t never sees positions after t.
    """
    import mlx.core as mx

    width = max(len(c) for c in continuations) - 1
    if width == 0:
        return [(0.0, True) for _ in continuations]
    batch = len(continuations)
    tiled = []
    for layer in cache:
        keys, values = layer.keys_and_values()
        copy_ = type(layer)()  # a plain KVCache (checked by the caller)
        copy_.state = (mx.repeat(keys, batch, axis=0), mx.repeat(values, batch, axis=0), layer.offset)
        tiled.append(copy_)
    inputs = mx.array([c[:-1] + [0] * (width + 1 - len(c)) for c in continuations])
    targets = mx.array([c[1:] + [0] * (width + 1 - len(c)) for c in continuations])
    logprobs = _log_softmax(mx, model(inputs, cache=tiled).astype(mx.float32))
    picked = mx.take_along_axis(logprobs, targets[..., None], axis=-1)[..., 0]
    best = mx.argmax(logprobs, axis=-1)
    mx.eval(picked, best)
    out = []
    for row, continuation in enumerate(continuations):
        n = len(continuation) - 1
        out.append((float(mx.sum(picked[row, :n])) if n else 0.0,
                    bool(mx.all(best[row, :n] == targets[row, :n])) if n else True))
    return out


def _continuations_one_by_one(model: Any, cache: list[Any], continuations: Sequence[list[int]]) -> list[tuple[float, bool]]:
    """Each continuation on the context's cache, trimmed back afterwards (or on a deep copy)."""
    import mlx.core as mx
    from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

    trimmable = can_trim_prompt_cache(cache)
    out = []
    for continuation in continuations:
        if len(continuation) == 1:
            out.append((0.0, True))
            continue
        run_cache = cache if trimmable else copy.deepcopy(cache)
        rest = model(mx.array(continuation[:-1])[None], cache=run_cache)
        logprobs = _log_softmax(mx, rest[0].astype(mx.float32))
        targets = mx.array(continuation[1:])
        picked = mx.take_along_axis(logprobs, targets[:, None], axis=-1)[:, 0]
        best = mx.argmax(logprobs, axis=-1)
        mx.eval(picked, best)
        out.append((float(mx.sum(picked)), bool(mx.all(best == targets))))
        if trimmable:
            trim_prompt_cache(cache, len(continuation) - 1)
    return out

def _log_softmax(mx: Any, logits: Any) -> Any:
    """``mlx.nn.log_softmax``'s own formula (x - logsumexp(x)), over the vocabulary axis."""
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)

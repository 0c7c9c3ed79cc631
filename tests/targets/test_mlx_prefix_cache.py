"""The in-process prefix cache: bookkeeping without MLX, then reuse on the real embedded model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import ChatRequest, now_ns
from mlx_benchmarks.targets.mlx_prefix_cache import PrefixCache, common_prefix


class FakeLayer:
    """A KV cache layer that only counts (test double): ``offset`` tokens held, trimmable or not."""

    def __init__(self, trimmable: bool = True) -> None:
        self.offset, self.trimmable = 0, trimmable


def prefix_cache(trimmable: bool = True) -> tuple[PrefixCache, list[list[FakeLayer]]]:
    made: list[list[FakeLayer]] = []

    def make() -> list[Any]:
        made.append([FakeLayer(trimmable)])
        return made[-1]

    def trim(cache: list[Any], n: int) -> int:
        n = min(n, cache[0].offset)
        cache[0].offset -= n
        return n

    return PrefixCache(make, lambda cache: all(layer.trimmable for layer in cache), trim), made


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2]) == 2


def test_a_longer_conversation_reuses_what_the_cache_holds_and_trims_the_rest() -> None:
    cache, made = prefix_cache()
    first, reused = cache.take([1, 2, 3, 4])
    assert reused == 0 and len(made) == 1
    first[0].offset = 6  # the prompt and two generated tokens went through the model
    cache.keep(first, [1, 2, 3, 4, 10, 11, 12])  # the third generated token was never fed
    assert cache.held_tokens == 6
    # the next turn shares the first five tokens, then differs: one token is trimmed, nothing made anew
    second, reused = cache.take([1, 2, 3, 4, 10, 99, 98])
    assert (second is first, reused, first[0].offset, len(made)) == (True, 5, 5, 1)


def test_the_last_prompt_token_is_always_fed_and_a_mismatch_starts_afresh() -> None:
    cache, made = prefix_cache()
    first, _ = cache.take([1, 2, 3])
    first[0].offset = 3
    cache.keep(first, [1, 2, 3])
    same, reused = cache.take([1, 2, 3])
    assert same is first and reused == 2 and first[0].offset == 2, "an identical prompt re-feeds its last token"
    same[0].offset = 3
    cache.keep(same, [1, 2, 3])
    fresh, reused = cache.take([7, 8, 9])
    assert reused == 0 and fresh is made[-1] and fresh is not first


def test_untrimmable_or_unaccountable_caches_are_never_reused() -> None:
    cache, made = prefix_cache(trimmable=False)
    first, _ = cache.take([1, 2, 3])
    first[0].offset = 3
    cache.keep(first, [1, 2, 3])
    _, reused = cache.take([1, 2, 3, 4])
    assert reused == 0 and len(made) == 2
    second = made[-1]
    second[0].offset = 9  # more than the tokens we know of: cannot say what it holds
    cache.keep(second, [1, 2, 3, 4])
    assert cache.held_tokens == 0


def run(target: Any, request: ChatRequest) -> Completion:
    return asyncio.run(collect(target.stream(request), start_ns=now_ns()))


@pytest.mark.mlx
def test_the_embedded_model_answers_the_same_with_a_reused_prefix(mlx_target: Any) -> None:
    system = {"role": "system", "content": "You are a careful assistant. " * 30}
    turn1 = [system, {"role": "user", "content": "Name a colour."}]
    first = run(mlx_target, ChatRequest(messages=turn1, max_tokens=6, cache_prompt=True))
    assert first.ok and first.usage is not None
    turn2 = [*turn1, {"role": "assistant", "content": first.text},
             {"role": "user", "content": "What is the capital of France?"}]
    cached = run(mlx_target, ChatRequest(messages=turn2, max_tokens=8, cache_prompt=True))
    fresh = run(mlx_target, ChatRequest(messages=turn2, max_tokens=8))
    assert cached.ok and fresh.ok and cached.usage is not None and fresh.usage is not None
    assert cached.usage.cached_prompt_tokens is not None
    assert cached.usage.cached_prompt_tokens > 150, "the system prompt and the first turn came from the cache"
    assert cached.usage.prompt_tokens == fresh.usage.prompt_tokens
    assert fresh.usage.cached_prompt_tokens is None, "an uncached request says nothing of a cache"
    assert cached.text == fresh.text, "reused KV state gives the answer a full prefill gives"
    assert "Paris" in cached.text

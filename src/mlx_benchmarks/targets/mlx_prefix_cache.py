"""One KV cache kept between in-process requests that ask for it (``ChatRequest.cache_prompt``).

An agent's conversation grows by a turn at a time, and every turn re-sends all of it: a ~1,700-token system
prompt and tool list, then the history. mlx_lm.server, llama.cpp's server and vLLM all keep the KV state of
earlier requests and prefill only what is new; this is the in-process target's version of that, for one
conversation at a time (the target generates one request at a time anyway). The speed suites never ask for
it: their prompts are unique, and their TTFT must include the whole prefill.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    """The KV cache of the last request that asked for caching, and the tokens it holds."""

    def __init__(self, make_cache: Callable[[], list[Any]], can_trim: Callable[[list[Any]], bool],
                 trim: Callable[[list[Any], int], Any]) -> None:
        self._make, self._can_trim, self._trim = make_cache, can_trim, trim
        self._cache: list[Any] | None = None
        self._tokens: list[int] = []

    def take(self, prompt: list[int]) -> tuple[list[Any], int]:
        """A cache to generate ``prompt`` with, and how many of its first tokens that cache already holds.

        At least the prompt's last token is always fed again (generation needs its logits). The cache is
        handed out, not shared: a generation that fails cannot leave a half-written one behind.
        """
        cache, self._cache = self._cache, None
        reuse = min(common_prefix(self._tokens, prompt), len(prompt) - 1)
        if cache is None or reuse <= 0 or not self._can_trim(cache):
            return self._make(), 0
        excess = len(self._tokens) - reuse
        if excess and self._trim(cache, excess) != excess:
            return self._make(), 0
        return cache, reuse

    def keep(self, cache: list[Any], tokens: list[int]) -> None:
        """After a generation: ``tokens`` = prompt + generated ids; the cache holds the first ``offset``."""
        offset = getattr(cache[0], "offset", None) if cache else None
        if not isinstance(offset, int) or offset > len(tokens):
            self.clear()  # a cache type we cannot account for token by token: never reuse it
            return
        self._cache, self._tokens = cache, tokens[:offset]

    def clear(self) -> None:
        self._cache, self._tokens = None, []

    @property
    def held_tokens(self) -> int:
        return len(self._tokens) if self._cache is not None else 0

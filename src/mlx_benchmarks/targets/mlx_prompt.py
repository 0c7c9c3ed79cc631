"""Tokenizer-exact prompts and stop-string hold-back, independent of MLX (plain callables).

``exact_prompt`` builds a text whose tokenization is exactly ``n`` tokens. The salt goes first so two
prompts share no token prefix and no prefix cache can serve one from the other; the filler is common
English words (each one token with its leading space in byte-level BPE vocabularies) in an order
drawn from the salt.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Encode = Callable[[str], list[int]]
Decode = Callable[[list[int]], str]

_WORD_TEXT = (
    "the of and to in is was for on as with by at from that this which be are or his her it an "
    "were had have not but one all their there been has more when will would who so no time people "
    "water house river city world year day way man woman child hand part place case week company "
    "system program question work government number night point home room area money story fact "
    "month lot right study book eye job word business issue side kind head service friend father "
    "power hour game line end member law car name president team minute idea body information back"
)
_WORDS = tuple(_WORD_TEXT.split())


def held_back_suffix(text: str, stops: list[str]) -> int:
    """Length of the longest tail of ``text`` that could still grow into one of ``stops``."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[-size:]):
                longest = size
                break
    return longest


def _filler(salt: str, count: int) -> list[str]:
    rng = random.Random(salt)
    words: list[str] = []
    while len(words) < count:
        batch = list(_WORDS)
        rng.shuffle(batch)
        words.extend(batch)
    return words[:count]


def _by_token_cut(encode: Encode, decode: Decode, text: str, n_tokens: int) -> str | None:
    ids = encode(text)
    for cut in range(n_tokens, min(len(ids), n_tokens + 8) + 1):
        candidate = decode(ids[:cut])
        if len(encode(candidate)) == n_tokens:
            return candidate
    return None


def _fit(encode: Encode, decode: Decode, head: str, words: list[str], n_tokens: int) -> str | None:
    """``head`` plus the fewest filler words that make exactly ``n_tokens`` tokens, or None."""

    def text_of(k: int) -> str:
        return (head + "".join(" " + w for w in words[:k])).lstrip()

    # token count grows with the number of words (about one token each): binary search the first k
    while len(encode(text_of(len(words)))) < n_tokens:
        words.extend(_filler(head + str(len(words)), n_tokens))
    low, high = 0, len(words)
    while low < high:
        middle = (low + high) // 2
        if len(encode(text_of(middle))) < n_tokens:
            low = middle + 1
        else:
            high = middle
    text = text_of(low)
    if len(encode(text)) == n_tokens:
        return text
    # the last word overshot: try other last words, then cutting by tokens
    base = text_of(max(low - 1, 0))
    for word in _WORDS:
        candidate = f"{base} {word}".lstrip()
        if len(encode(candidate)) == n_tokens:
            return candidate
    return _by_token_cut(encode, decode, text, n_tokens)


def exact_prompt(encode: Encode, decode: Decode, n_tokens: int, salt: str) -> str:
    """A text that ``encode`` turns into exactly ``n_tokens`` tokens, starting with ``salt``.

    When the salt alone has ``n_tokens`` tokens or more, the text is filler words drawn from the salt
    instead (distinct salts then give distinct texts with high probability, not certainty).
    Raises ValueError when no such text can be found (``n_tokens`` below one, say).
    """
    if n_tokens < 1:
        raise ValueError(f"a prompt needs at least one token, not {n_tokens}")
    head = salt.strip()
    if head and len(encode(head)) >= n_tokens:
        head = ""
    found = _fit(encode, decode, head, _filler(salt, n_tokens + 16), n_tokens)
    if found is None:
        raise ValueError(f"cannot make a prompt of exactly {n_tokens} tokens with this tokenizer")
    return found

"""Which way is better for a metric: the one place that decides it.

A result's tag ``higher_is_better`` ("true"/"false") wins. Otherwise the unit decides: rates and scores
are higher-better, times and memory are lower-better. Anything else has no known direction, and a
change in it is reported but never called an improvement or a regression.
"""

from __future__ import annotations

from collections.abc import Mapping

HIGHER_BETTER_UNITS = frozenset({"ratio", "tok/s", "tokens/s", "req/s", "requests/s", "score", "%", "percent", "bool"})
LOWER_BETTER_UNITS = frozenset({"ms", "s", "seconds", "sec", "us", "ns", "mb", "gb", "bytes"})
TRUE_TAGS = frozenset({"true", "1", "yes"})
FALSE_TAGS = frozenset({"false", "0", "no"})


def higher_is_better(unit: str, tags: Mapping[str, str] | None = None) -> bool | None:
    """True when a larger value is better, False when smaller is, None when unknown."""
    tag = (tags or {}).get("higher_is_better")
    if tag is not None:
        text = str(tag).strip().lower()
        if text in TRUE_TAGS:
            return True
        if text in FALSE_TAGS:
            return False
    normalized = unit.strip().lower()
    if normalized in HIGHER_BETTER_UNITS:
        return True
    if normalized in LOWER_BETTER_UNITS:
        return False
    return None

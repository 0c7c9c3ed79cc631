"""Hypothesis strategies shared by the fuzz tests: JSON values with every hazard a file or a server can hold."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# numbers at the edges: NaN, infinities, huge integers (beyond int64, near the 4,300-digit limit), -0.0
NUMBERS = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0, 2**63, -(2**63) - 1, 2**70, 10**4000]),
)
TEXT = st.one_of(st.text(max_size=20), st.sampled_from(["nan", "NaN", "inf", "-Infinity", "", "\ud800", "1e999"]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)


def json_values(keys: st.SearchStrategy[str] = TEXT, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Nested lists and objects of hazardous scalars."""
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(keys, inner, max_size=4)),
                        max_leaves=max_leaves)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with some of ``fields`` (each with its own strategy) and at times one random key."""
    # builds, not flatmap: flatmap makes Hypothesis several times slower per example
    return st.builds(lambda known, extra: {**extra, **known}, st.fixed_dictionaries({}, optional=fields),
                     st.dictionaries(TEXT, SCALARS, max_size=1))


def dumps(value: Any) -> bytes:
    """JSON as Python writes it (NaN and Infinity included); a lone surrogate written escaped, as JSON allows."""
    return json.dumps(value, ensure_ascii=True).encode()


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# whole files: JSON of a shaped document, raw bytes, deep nesting, a digit-limit integer, bad UTF-8
def files(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        documents.map(dumps),
        st.binary(max_size=200),
        st.integers(min_value=1, max_value=5_000).map(deep),  # past the parser's recursion limit (~1,000)
        st.just(b"1" * 5000),
        st.just(b'{"results": "\xff\xfe"}'),
        documents.map(dumps).map(lambda text: text[: len(text) // 2]),  # truncated
    )

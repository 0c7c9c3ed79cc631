"""Valid v1 envelopes as a Hypothesis strategy (every optional block, odd but legal text and numbers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from mlx_benchmarks.envelope import MAX_INT, suite_names

FINITE = st.floats(allow_nan=False, allow_infinity=False)
NON_NEGATIVE = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
INT64 = st.integers(min_value=-MAX_INT, max_value=MAX_INT)
TEXT = st.text(max_size=30)  # no lone surrogates: Hypothesis leaves category Cs out by default
RAW = st.recursive(st.one_of(st.none(), st.booleans(), INT64, FINITE, TEXT),
                   lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
                   max_leaves=4)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


RESULT = st.fixed_dictionaries(
    {"name": TEXT, "metric": TEXT, "value": FINITE, "unit": TEXT},
    optional={"duration_seconds": FINITE, "prompt_tokens_per_second": NON_NEGATIVE,
              "decode_tokens_per_second": NON_NEGATIVE, "total_tokens_per_second": NON_NEGATIVE,
              "first_token_latency_ms": NON_NEGATIVE, "peak_rss_mb": NON_NEGATIVE,
              "tags": st.dictionaries(TEXT, TEXT, max_size=3), "raw": RAW},
)
SNAPSHOT = st.fixed_dictionaries({"phase": TEXT, "rss_gb": FINITE},
                                 optional={"free_gb": FINITE, "wired_gb": FINITE, "swap_mb": FINITE})
SYSTEM = st.fixed_dictionaries({"os": TEXT, "chip": TEXT, "memory_gb": INT64},
                               optional={"python_version": TEXT, "kernel": TEXT, "mlx_version": TEXT})


def _envelope(parts: dict[str, Any]) -> dict[str, Any]:
    document = dict(parts)
    if not document["results"]:
        document["skipped"] = True  # the store refuses an empty, unskipped run by design
    return document


ENVELOPES = st.fixed_dictionaries(
    {"schema_version": st.just("1"),
     "timestamp": st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30),
                               timezones=st.just(UTC)).map(_stamp),
     "git_sha": st.text("0123456789abcdefABCDEF", min_size=7, max_size=64),
     "trigger": st.sampled_from(["schedule", "pr", "workflow_dispatch", "local"]),
     "suite": st.sampled_from(suite_names()), "model": TEXT, "system": SYSTEM,
     "results": st.lists(RESULT, max_size=2)},
    optional={"pr_number": st.one_of(st.none(), INT64), "model_revision": TEXT, "quantization": TEXT,
              "skipped": st.booleans(), "seed": INT64,
              "gen_kwargs": st.fixed_dictionaries({}, optional={"max_gen_toks": INT64, "temperature": FINITE,
                                                                 "top_p": FINITE, "top_k": INT64}),
              "memory_snapshots": st.lists(SNAPSHOT, max_size=3), "errors": st.lists(TEXT, max_size=3)},
).map(_envelope)

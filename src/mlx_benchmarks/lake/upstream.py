"""The seed project's flat layout, as its publisher writes it: ``data/run-….parquet``, one row per result.

The seed's ``envelope_to_rows`` makes one row per result with the envelope's fields, the system block's
``os``/``chip``/``memory_gb``, the result's fields and one ``tag_<key>`` column per tag; its
``rows_to_parquet`` lets Arrow infer each column's type from the first row's keys; its ``target_path``
names the file ``data/run-<timestamp, ':'->'-', no Z>-<git_sha>-<suite>-<slug[:50]>-<sha256(bytes)[:8]>``.
``upstream_rows`` gives those rows (same names, types, values), and after them the columns a lossless
round trip of our envelopes needs, which the seed's viewer never reads (``EXTRA_COLUMNS``). The reader is
``upstream_read``; docs/upstream.md lists every column. The seed's own code is the oracle in
tests/lake/test_upstream_oracle.py; none of it is copied here.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")


DATA_DIR = "data"
TAG_PREFIX = "tag_"
SYSTEM_PREFIX = "system_"  # our extra system fields (python_version, runner, ...)
SEED_ENVELOPE = ("schema_version", "timestamp", "git_sha", "trigger", "suite", "model")
SEED_SYSTEM = ("os", "chip", "memory_gb")
SEED_OPTIONAL = ("model_revision", "quantization", "seed")  # written only when the envelope has them
SEED_RESULT = ("name", "metric", "value", "unit")
NEWER_TIMING = (  # the seed schema's per-result figures its publisher does not write yet
    "prompt_tokens_per_second",
    "decode_tokens_per_second",
    "total_tokens_per_second",
    "first_token_latency_ms",
    "peak_rss_mb",
)
JSON_ENVELOPE = ("gen_kwargs", "memory_snapshots", "errors")
EMPTY_TAGS = "tags_empty"  # true where a result had ``"tags": {}`` (no tag_* column can say so)
RAW = "raw"
EXACT_TIMESTAMP = "timestamp_exact"  # the envelope's own timestamp where ``timestamp`` had to be rewritten
# extra columns of a known type; tag_* and system_* extras are text
EXTRA_COLUMNS = (EXACT_TIMESTAMP, "pr_number", "skipped", *JSON_ENVELOPE, RAW, EMPTY_TAGS)


@cache
def extra_types() -> dict[str, pa.DataType]:
    """The Arrow type of each extra column (a function: pyarrow is imported on first use)."""
    return {
        EXACT_TIMESTAMP: pa.string(),
        "pr_number": pa.int64(),
        "skipped": pa.bool_(),
        **{key: pa.string() for key in JSON_ENVELOPE},
        RAW: pa.string(),
        EMPTY_TAGS: pa.bool_(),
    }


@cache
def null_fallback() -> dict[str, pa.DataType]:
    """What an all-null column of the seed's names is typed as (Arrow would infer ``null``)."""
    return {
        "value": pa.float64(),
        "memory_gb": pa.int64(),
        "seed": pa.int64(),
        "duration_seconds": pa.float64(),
        **{key: pa.float64() for key in NEWER_TIMING},
    }


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seed_timestamp(text: Any) -> Any:
    """``text`` as the seed's converters write a timestamp (``%Y-%m-%dT%H:%M:%SZ``, UTC).

    The seed's viewer parses the column with one format inferred from its first row, so one file with
    fractional seconds (as our runs have) among the seed's would make it fail to load at all.
    """
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return text
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_base(envelope: JSON) -> dict[str, Any]:
    """The envelope-level part of every row, in the seed's column order."""
    system = envelope.get("system") or {}
    base: dict[str, Any] = {key: envelope.get(key) for key in SEED_ENVELOPE}
    base["timestamp"] = seed_timestamp(envelope.get("timestamp"))
    base.update({key: system.get(key) for key in SEED_SYSTEM})
    base.update({key: envelope[key] for key in SEED_OPTIONAL if key in envelope})
    return base


def seed_rows(envelope: JSON) -> list[dict[str, Any]]:
    """The rows the seed's ``envelope_to_rows`` gives for ``envelope`` (same keys, order and values; the
    timestamp as ``seed_timestamp`` writes it)."""
    base = seed_base(envelope)
    rows = []
    for result in envelope.get("results") or []:
        row = {**base, **{key: result.get(key) for key in SEED_RESULT}}
        if "duration_seconds" in result:
            row["duration_seconds"] = result["duration_seconds"]
        row.update({TAG_PREFIX + key: value for key, value in (result.get("tags") or {}).items()})
        rows.append(row)
    return rows


def extra_envelope(envelope: JSON) -> dict[str, Any]:
    """Envelope-level extras: present as a column exactly when the envelope has the key (null or not)."""
    extra: dict[str, Any] = {}
    if seed_timestamp(envelope.get("timestamp")) != envelope.get("timestamp"):
        extra[EXACT_TIMESTAMP] = envelope["timestamp"]
    if "pr_number" in envelope:
        extra["pr_number"] = envelope["pr_number"]
    if "skipped" in envelope:
        extra["skipped"] = envelope["skipped"]
    extra.update({key: _json(envelope[key]) for key in JSON_ENVELOPE if key in envelope})
    system = envelope.get("system") or {}
    extra.update({SYSTEM_PREFIX + key: value for key, value in system.items() if key not in SEED_SYSTEM})
    return extra


def extra_result(result: JSON) -> dict[str, Any]:
    """Result-level extras: the newer timing figures, ``raw`` as JSON text, the empty-tags marker."""
    extra: dict[str, Any] = {key: result[key] for key in NEWER_TIMING if key in result}
    if RAW in result:
        extra[RAW] = _json(result[RAW])
    if result.get("tags") == {}:
        extra[EMPTY_TAGS] = True
    return extra


def upstream_rows(envelope: JSON) -> tuple[list[dict[str, Any]], list[str]]:
    """Every row of the file and its column order: the seed's columns (its first row's keys, as its file
    has them), then seed-named columns only later rows have, then our extras.

    A run with no results (the seed's publisher refuses those) is one row with null result fields.
    """
    seed = seed_rows(envelope) or [{**seed_base(envelope), **dict.fromkeys(SEED_RESULT)}]
    results = envelope.get("results") or [{}]
    env_extra = extra_envelope(envelope)
    rows = [{**row, **env_extra, **extra_result(result)} for row, result in zip(seed, results, strict=True)]
    order = list(seed[0])
    seen = set(order)
    for row in (*seed[1:], *rows):
        for key in row:
            if key not in seen:
                seen.add(key)
                order.append(key)
    return rows, order


def _array(name: str, values: list[Any]) -> pa.Array:
    if name in EXTRA_COLUMNS:
        return pa.array(values, type=extra_types()[name])
    array = pa.array(values)  # inferred, as the seed's Table.from_pylist does
    if array.type == pa.null():
        return pa.array(values, type=null_fallback().get(name, pa.string()))
    return array


def upstream_table(rows: Sequence[dict[str, Any]], order: Sequence[str]) -> pa.Table:
    """The rows as an Arrow table, columns in ``order``."""
    return pa.Table.from_arrays([_array(name, [row.get(name) for row in rows]) for name in order], names=list(order))


def parquet_bytes(table: pa.Table) -> bytes:
    """The file's bytes, written with Parquet's defaults (as the seed's publisher writes them)."""
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def seed_slug(model: str) -> str:
    """The seed's model slug: every character outside ``[a-zA-Z0-9-]`` becomes ``-``, lower case, ends trimmed."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", model).lower().strip("-")


def file_stem(envelope: JSON) -> str:
    """``run-<ts>-<git_sha>-<suite>-<slug[:50]>``: the seed's ``target_path`` before its hash."""
    stamp = str(envelope["timestamp"]).replace(":", "-").rstrip("Z")
    return f"run-{stamp}-{envelope['git_sha']}-{envelope['suite']}-{seed_slug(str(envelope['model']))[:50]}"


def file_name(envelope: JSON, payload: bytes) -> str:
    """The seed's file name: the stem, then the first 8 hex digits of the SHA-256 of the file's bytes."""
    return f"{file_stem(envelope)}-{hashlib.sha256(payload).hexdigest()[:8]}.parquet"


def upstream_file(envelope: JSON) -> tuple[str, bytes]:
    """The file name (under ``data/``) and Parquet bytes one envelope publishes as."""
    rows, order = upstream_rows(envelope)
    data = parquet_bytes(upstream_table(rows, order))
    return file_name(envelope, data), data

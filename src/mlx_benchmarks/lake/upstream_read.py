"""Rebuild an envelope from one file of the seed's flat layout, whoever wrote it.

Accepted: the seed publisher's files of every version (``scripts/publish_run.py`` and ``mlx-bench-publish``:
no hash in the name, optional columns absent), ours with their extra columns (``upstream``), our earlier
files (``system_os``/``system_chip``/``system_memory_gb``, ``result_index``), and files another tool
rewrote: ``timestamp`` typed as a Parquet timestamp, ``memory_gb``/``seed`` as floats, NaN for a missing
number, JSON columns already nested. A field the file does not carry stays absent; nothing is invented,
so a file that lacks what the schema requires does not rebuild (``StoreError`` naming the file).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlx_benchmarks.envelope import JSON, validation_errors
from mlx_benchmarks.errors import StoreError
from mlx_benchmarks.lake.upstream import (
    EMPTY_TAGS,
    EXACT_TIMESTAMP,
    JSON_ENVELOPE,
    NEWER_TIMING,
    RAW,
    SEED_ENVELOPE,
    SEED_OPTIONAL,
    SEED_RESULT,
    SEED_SYSTEM,
    SYSTEM_PREFIX,
    TAG_PREFIX,
)
from mlx_benchmarks.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")


LEGACY = ("result_index",)  # our earlier files' row order column


def missing(value: Any) -> bool:
    """Null, or the NaN a dataframe writes for a missing number."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _integral(value: Any) -> Any:
    """An integral float (a dataframe's nullable int) as an int; anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def timestamp_text(value: Any) -> Any:
    """RFC 3339 text for a Parquet timestamp (naive means UTC); text unchanged."""
    if not isinstance(value, datetime):
        return value
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (moment.strftime(".%f") if moment.microsecond else "") + "Z"


def _json_value(value: Any, column: str, where: str) -> Any:
    if not isinstance(value, str):  # a writer that stored the value nested already
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise StoreError(f"{where}: column {column} holds text that is not JSON") from None


def _envelope_fields(first: dict[str, Any], columns: set[str], where: str) -> JSON:
    envelope: JSON = {}
    for key in (*SEED_ENVELOPE, *SEED_OPTIONAL):
        if key in columns and not missing(first[key]):
            envelope[key] = _integral(first[key]) if key == "seed" else first[key]
    if EXACT_TIMESTAMP in columns and not missing(first[EXACT_TIMESTAMP]):
        envelope["timestamp"] = first[EXACT_TIMESTAMP]
    elif "timestamp" in envelope:
        envelope["timestamp"] = timestamp_text(envelope["timestamp"])
    if "pr_number" in columns:  # ours writes the column exactly when the envelope has the key
        envelope["pr_number"] = None if missing(first["pr_number"]) else _integral(first["pr_number"])
    if "skipped" in columns and not missing(first["skipped"]):
        envelope["skipped"] = bool(first["skipped"])
    for key in JSON_ENVELOPE:
        if key in columns and not missing(first[key]):
            envelope[key] = _json_value(first[key], key, where)
    return envelope


def _system(first: dict[str, Any], columns: set[str]) -> JSON:
    system: JSON = {}
    for key in SEED_SYSTEM:
        for column in (key, SYSTEM_PREFIX + key):  # the seed's name, then our earlier files' name
            if column in columns and not missing(first[column]):
                system[key] = _integral(first[column]) if key == "memory_gb" else first[column]
                break
    for column in sorted(columns):
        key = column[len(SYSTEM_PREFIX) :]
        if column.startswith(SYSTEM_PREFIX) and key not in SEED_SYSTEM and not missing(first[column]):
            system[key] = first[column]
    return system


def _result(row: dict[str, Any], columns: set[str], tag_columns: Sequence[str], where: str) -> JSON:
    result: JSON = {key: row[key] for key in SEED_RESULT if key in columns and not missing(row[key])}
    for key in ("duration_seconds", *NEWER_TIMING):
        if key in columns and not missing(row[key]):
            result[key] = row[key]
    tags = {column[len(TAG_PREFIX) :]: row[column] for column in tag_columns if not missing(row[column])}
    if tags:
        result["tags"] = {key: value if isinstance(value, str) else str(value) for key, value in tags.items()}
    elif EMPTY_TAGS in columns and row[EMPTY_TAGS]:
        result["tags"] = {}
    if RAW in columns and row[RAW] is not None:
        result[RAW] = _json_value(row[RAW], RAW, where)
    return result


def envelope_from_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, where: str = "file") -> JSON:
    """The envelope of one file's rows (``columns``: the file's column names). StoreError when the rows do
    not make a valid envelope."""
    if not rows:
        raise StoreError(f"{where} holds no rows")
    names = set(columns)
    first = rows[0]
    envelope = _envelope_fields(first, names, where)
    envelope["system"] = _system(first, names)
    ordered = sorted(rows, key=lambda r: r.get("result_index") or 0) if LEGACY[0] in names else list(rows)
    tag_columns = [c for c in columns if c.startswith(TAG_PREFIX)]
    # a row without a name is the placeholder of a run with no results
    envelope["results"] = [_result(row, names, tag_columns, where) for row in ordered if not missing(row.get("name"))]
    errors = validation_errors(envelope)
    if errors:
        raise StoreError(f"{where} does not rebuild a valid envelope: {'; '.join(errors[:3])}")
    return envelope


def read_upstream(data: bytes | Any, *, where: str = "file") -> JSON:
    """The envelope of one file of the flat layout (its bytes or a binary file object)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        table = pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(f"{where} is not readable Parquet: {exc}") from None
    return envelope_from_rows(table.to_pylist(), table.column_names, where=where)

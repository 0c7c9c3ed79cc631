"""The upstream publisher's flat layout: one Parquet file per run under ``data/``, one row per result.

``data/run-<ts>-<sha>-<suite>-<model>-<hash>.parquet`` holds the envelope's top-level fields, the
system block flattened as ``system_<field>``, the result's fields and one ``tag_<key>`` column per tag.
Values that are not flat (``gen_kwargs``, ``raw``, ``memory_snapshots``, ``errors``) are JSON text in a
column of the field's name. ``envelope_from_rows`` rebuilds the envelope; docs/lake.md lists every
column and what the round trip drops.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mlx_benchmarks.envelope import JSON, validate
from mlx_benchmarks.errors import StoreError
from mlx_benchmarks.store import TIMING_FIELDS, canonical_json, model_slug, parse_timestamp

DATA_DIR = "data"
TAG_PREFIX = "tag_"
SYSTEM_PREFIX = "system_"
# column -> Arrow type, in file order; tag_* columns follow, sorted by key
ENVELOPE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("schema_version", pa.string()),
    ("timestamp", pa.string()),
    ("git_sha", pa.string()),
    ("trigger", pa.string()),
    ("pr_number", pa.int64()),
    ("suite", pa.string()),
    ("model", pa.string()),
    ("model_revision", pa.string()),
    ("quantization", pa.string()),
    ("skipped", pa.bool_()),
    ("seed", pa.int64()),
    ("gen_kwargs", pa.string()),
)
SYSTEM_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("os", pa.string()),
    ("chip", pa.string()),
    ("memory_gb", pa.int64()),
    ("vllm_mlx_version", pa.string()),
    ("runner", pa.string()),
    ("python_version", pa.string()),
    ("mlx_version", pa.string()),
    ("mlx_lm_version", pa.string()),
    ("lm_eval_version", pa.string()),
    ("kernel", pa.string()),
)
RESULT_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("result_index", pa.int64()),
    ("name", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    *((key, pa.float64()) for key in TIMING_FIELDS),
    ("raw", pa.string()),
)
RUN_JSON_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (("memory_snapshots", pa.string()), ("errors", pa.string()))
FIXED_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    *ENVELOPE_COLUMNS,
    *((SYSTEM_PREFIX + key, kind) for key, kind in SYSTEM_FIELDS),
    *RESULT_COLUMNS,
    *RUN_JSON_COLUMNS,
)
JSON_FIELDS = ("gen_kwargs", "memory_snapshots", "errors")
FILE_NAME = re.compile(r"^run-\d{8}T\d{6}-[0-9a-f]{7,12}-[a-z0-9-]+-[0-9a-f]{8}\.parquet$")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def upstream_rows(envelope: JSON) -> list[dict[str, Any]]:
    """The flat rows of one envelope; a skipped run with no results is one row with empty result fields."""
    system = envelope.get("system", {})
    base: dict[str, Any] = {key: envelope.get(key) for key, _ in ENVELOPE_COLUMNS if key not in JSON_FIELDS}
    base["gen_kwargs"] = _json(envelope["gen_kwargs"]) if "gen_kwargs" in envelope else None
    base.update({SYSTEM_PREFIX + key: system.get(key) for key, _ in SYSTEM_FIELDS})
    for key, _ in RUN_JSON_COLUMNS:
        base[key] = _json(envelope[key]) if key in envelope else None
    rows = []
    for index, result in enumerate(envelope.get("results", []) or [None]):
        row = dict(base)
        result = result or {}
        row.update({key: result.get(key) for key, _ in RESULT_COLUMNS if key != "raw"})
        row["result_index"] = index if result else None
        row["raw"] = _json(result["raw"]) if "raw" in result else None
        for key, value in sorted(result.get("tags", {}).items()):
            row[TAG_PREFIX + key] = str(value)
        rows.append(row)
    return rows


def upstream_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """The rows as a table with the fixed columns' types, then ``tag_*`` columns (text) sorted by name."""
    tags = sorted({key for row in rows for key in row if key.startswith(TAG_PREFIX)})
    fields = [*FIXED_COLUMNS, *((key, pa.string()) for key in tags)]
    arrays = []
    for key, kind in fields:
        values = [row.get(key) for row in rows]
        if kind == pa.float64():
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=kind))
    return pa.Table.from_arrays(arrays, names=[key for key, _ in fields])


def content_hash(rows: Sequence[dict[str, Any]]) -> str:
    """Eight hex digits of the rows' canonical JSON: the same run always gets the same file name."""
    return hashlib.sha256(canonical_json(list(rows))).hexdigest()[:8]


def file_name(envelope: JSON, rows: Sequence[dict[str, Any]]) -> str:
    """``run-<%Y%m%dT%H%M%S>-<sha12>-<suite>-<model slug>-<hash8>.parquet``."""
    stamp = parse_timestamp(envelope["timestamp"]).strftime("%Y%m%dT%H%M%S")
    sha = str(envelope["git_sha"])[:12].lower()
    return f"run-{stamp}-{sha}-{envelope['suite']}-{model_slug(envelope['model'])}-{content_hash(rows)}.parquet"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def upstream_file(envelope: JSON) -> tuple[str, bytes]:
    """The file name and Parquet bytes one envelope publishes as."""
    rows = upstream_rows(envelope)
    return file_name(envelope, rows), parquet_bytes(upstream_table(rows))


def _load(text: Any, what: str) -> Any:
    if not isinstance(text, str):  # a file whose writer stored the value as a nested column already
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise StoreError(f"column {what} holds text that is not JSON") from None


def envelope_from_rows(rows: Sequence[dict[str, Any]], *, where: str = "file") -> JSON:
    """Rebuild the envelope of one upstream file from its rows (validated; StoreError when it cannot be)."""
    if not rows:
        raise StoreError(f"{where} holds no rows")
    first = rows[0]
    envelope: JSON = {}
    for key, _ in ENVELOPE_COLUMNS:
        if first.get(key) is not None:
            envelope[key] = _load(first[key], key) if key in JSON_FIELDS else first[key]
    envelope.setdefault("schema_version", "1")  # the upstream files of schema v1 may omit it
    if isinstance(envelope.get("timestamp"), datetime):  # a writer that typed the column as a timestamp
        envelope["timestamp"] = envelope["timestamp"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    system = {key: first[SYSTEM_PREFIX + key] for key, _ in SYSTEM_FIELDS if first.get(SYSTEM_PREFIX + key) is not None}
    if isinstance(system.get("memory_gb"), float) and system["memory_gb"].is_integer():
        system["memory_gb"] = int(system["memory_gb"])
    envelope["system"] = system
    results = []
    ordered = sorted(rows, key=lambda r: (r.get("result_index") is None, r.get("result_index") or 0))
    for row in ordered:
        if row.get("name") is None:  # the placeholder row of a skipped run
            continue
        result: JSON = {key: row[key] for key, _ in RESULT_COLUMNS if key not in ("result_index", "raw") and row.get(key) is not None}
        tags = {key[len(TAG_PREFIX) :]: str(row[key]) for key in sorted(row) if key.startswith(TAG_PREFIX) and row[key] is not None}
        if tags:
            result["tags"] = tags
        if row.get("raw") is not None:
            result["raw"] = _load(row["raw"], "raw")
        results.append(result)
    envelope["results"] = results
    for key, _ in RUN_JSON_COLUMNS:
        if first.get(key) is not None:
            envelope[key] = _load(first[key], key)
    validate(envelope)
    return envelope


def read_upstream(data: bytes | Any, *, where: str = "file") -> JSON:
    """The envelope of one upstream Parquet file (bytes or a binary file object)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        rows: list[dict[str, Any]] = pq.read_table(source).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(f"{where} is not readable Parquet: {exc}") from None
    return envelope_from_rows(rows, where=where)

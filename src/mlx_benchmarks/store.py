"""The append-only results store: one immutable shard per run, queried with DuckDB.

Layout under the store root::

    runs/<shard-id>/envelope.json    the validated envelope, byte for byte
    runs/<shard-id>/run.parquet      one row describing the run
    runs/<shard-id>/results.parquet  one row per result, envelope fields repeated, tags as columns
    runs/<shard-id>/samples.parquet  per-sample records, for suites that have them

A shard is written into ``.tmp/`` first, every file fsynced, then renamed into ``runs/`` in one step, so a
process killed mid-write leaves no partial shard behind. The writer holds a ``flock`` on its staging folder;
a staging folder that no live writer holds (a writer killed mid-write) is removed by the next write.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mlx_benchmarks.envelope import JSON, validate
from mlx_benchmarks.errors import EnvelopeInvalid, StoreError
from mlx_benchmarks.fileio import hold_lock, remove_stale_staging
from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.redact import redact_value

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")


RUNS_DIR = "runs"
TMP_DIR = ".tmp"
TIMING_FIELDS = (
    "duration_seconds",
    "prompt_tokens_per_second",
    "decode_tokens_per_second",
    "total_tokens_per_second",
    "first_token_latency_ms",
    "peak_rss_mb",
)
RUN_FIELDS = ("git_sha", "trigger", "suite", "model", "model_revision", "quantization")
FILE_MODE, DIR_MODE = 0o600, 0o700  # results may hold prompts, answers and whatever a server echoed
SHARED_FILE_BITS, SHARED_DIR_BITS = 0o040, 0o050  # --share-mode: the store's group may read it


def canonical_json(document: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def model_slug(model: str) -> str:
    """A filesystem-safe short form of a model name."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return (slug or "model")[:60]


def parse_timestamp(value: str) -> datetime:
    """Parse the envelope's RFC 3339 timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def store_error(exc: OSError, what: str) -> StoreError:
    """One line for a filesystem failure (read-only, full, no permission) at the store boundary."""
    reason = {errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on device",
              errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
              errno.EPERM: "operation not permitted"}.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return StoreError(f"{what}: {reason}")


def run_key_digest(run_key: str) -> str:
    """The hash8 of a shard made by ``mlx-bench run``: derived from the run key, so a resumed run that
    finishes twice lands on one shard id."""
    return hashlib.sha256(f"run-key:{run_key}".encode()).hexdigest()[:8]


def shard_id(envelope: JSON, run_key: str | None = None) -> str:
    """``run-<timestamp>-<git_sha>-<suite>-<model_slug>-<hash8>``: hash8 of the run key when the run has one,
    else of the envelope (identical envelopes share one id)."""
    stamp = parse_timestamp(envelope["timestamp"]).strftime("%Y%m%dT%H%M%S")
    digest = run_key_digest(run_key) if run_key else hashlib.sha256(canonical_json(envelope)).hexdigest()[:8]
    sha = str(envelope["git_sha"])[:12].lower()
    return f"run-{stamp}-{sha}-{envelope['suite']}-{model_slug(envelope['model'])}-{digest}"


def _tag_column(key: str) -> str:
    return "tag_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def run_row(run_id: str, envelope: JSON) -> dict[str, Any]:
    """The one-row summary of a run that ``runs`` lists."""
    system = envelope.get("system", {})
    return {
        "run_id": run_id,
        "timestamp": parse_timestamp(envelope["timestamp"]),
        **{key: envelope.get(key) for key in RUN_FIELDS},
        "pr_number": envelope.get("pr_number"),
        "skipped": bool(envelope.get("skipped", False)),
        "seed": envelope.get("seed"),
        "n_results": len(envelope.get("results", [])),
        "n_errors": len(envelope.get("errors", [])),
        "system_os": system.get("os"),
        "system_chip": system.get("chip"),
        "system_memory_gb": system.get("memory_gb"),
        "system_json": json.dumps(system, sort_keys=True),
        "gen_kwargs_json": json.dumps(envelope.get("gen_kwargs", {}), sort_keys=True),
    }


def result_rows(run_id: str, envelope: JSON) -> list[dict[str, Any]]:
    """One flat row per result: envelope fields repeated, timing fields, tags as ``tag_*`` columns."""
    base = run_row(run_id, envelope)
    rows = []
    for index, result in enumerate(envelope.get("results", [])):
        row: dict[str, Any] = dict(base)
        row.update(
            result_index=index,
            name=result["name"],
            metric=result["metric"],
            value=float(result["value"]),
            unit=result["unit"],
            **{key: result.get(key) for key in TIMING_FIELDS},
            tags_json=json.dumps(result.get("tags", {}), sort_keys=True),
            raw_json=json.dumps(result["raw"]) if "raw" in result else None,
        )
        for key, value in result.get("tags", {}).items():
            row[_tag_column(key)] = str(value)
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]], float_columns: Sequence[str] = ()) -> pa.Table:
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [row.get(key) for row in rows]
    arrays = {}
    for key, values in columns.items():
        if key in float_columns or key == "value":
            arrays[key] = pa.array([None if v is None else float(v) for v in values], type=pa.float64())
        elif key.startswith("tag_"):
            arrays[key] = pa.array(values, type=pa.string())
        else:
            arrays[key] = _column(values)
    return pa.table(arrays)


def _column(values: list[Any]) -> pa.Array:
    """An inferred Arrow column; values of mixed types (a suite's free-form detail) become text, so a
    long run is never lost at the last step for a column Arrow cannot type."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str)) for v in values],
                        type=pa.string())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_parquet(path: Path, table: pa.Table, mode: int = FILE_MODE) -> None:
    pq.write_table(table, path)
    os.chmod(path, mode)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def share_modes(root: Path) -> tuple[int, int]:
    """(file mode, folder mode) of new shards: private (0600, 0700) unless the store's own folder is
    group-readable (``--share-mode``, or a store made before modes were private), then group-readable too."""
    try:
        shared = bool(root.stat().st_mode & stat.S_IRGRP)
    except OSError:
        shared = False
    return (FILE_MODE | SHARED_FILE_BITS, DIR_MODE | SHARED_DIR_BITS) if shared else (FILE_MODE, DIR_MODE)


def resolve_run_id(run_ids: Sequence[str], prefix: str, *, where: str) -> str:
    """The one id of ``run_ids`` starting with ``prefix`` (an exact id always wins), else the one ending with
    it (the hash tail ``mlx-bench run`` prints); StoreError otherwise.

    Shared by the local store and the remote lake view so both resolve ids the same way.
    """
    matches = [rid for rid in run_ids if rid.startswith(prefix)]
    if prefix in matches:
        return prefix
    if not matches and prefix:
        matches = [rid for rid in run_ids if rid.endswith(prefix)]
    if not matches:
        raise StoreError(f"no stored run matches {prefix!r} in {where} (give a run id, or a unique start or end of one)")
    if len(matches) > 1:
        raise StoreError(f"{prefix!r} matches {len(matches)} runs; give a longer prefix")
    return matches[0]


@dataclass(frozen=True)
class StoredRun:
    """What ``Store.put`` did: the shard id and whether it was new."""

    run_id: str
    path: Path
    created: bool


class Store:
    """A local, append-only store of run shards."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def _ensure_writable(self) -> None:
        try:
            if not self.root.exists():  # a new store is private; --share-mode opens it to its group
                self.root.mkdir(parents=True, mode=DIR_MODE)
            (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root / TMP_DIR):
                pass
        except OSError as exc:
            raise store_error(exc, f"store {self.root} is not writable") from None

    def put(self, envelope: JSON, samples: Sequence[dict[str, Any]] | None = None, *,
            run_key: str | None = None) -> StoredRun:
        """Validate and store one envelope (and its samples) as a new shard; a repeat is a no-op.

        With ``run_key`` the shard id derives from the key, and a shard already stored for that key
        (a resumed run finishing twice) is returned instead of writing a second one. Every string is redacted
        first: a server may have echoed a credential into an error, a tag or an answer.
        """
        envelope = redact_value(envelope)  # type: ignore[assignment]
        samples = [redact_value(s) for s in samples] if samples else samples  # type: ignore[misc]
        validate(envelope)
        if not envelope["results"] and not envelope.get("skipped"):
            raise EnvelopeInvalid("envelope has an empty results list but is not marked skipped: true")
        run_id = shard_id(envelope, run_key)
        final = self.runs_dir / run_id
        if final.exists():
            return StoredRun(run_id, final, created=False)
        if run_key and (earlier := self.find_run_key(run_key)) is not None:
            return StoredRun(earlier, self.runs_dir / earlier, created=False)
        self._ensure_writable()
        remove_stale_staging(self.root / TMP_DIR)
        staging: Path | None = None
        held: int | None = None
        try:
            staging = Path(tempfile.mkdtemp(prefix=run_id + ".", dir=self.root / TMP_DIR))
            held = hold_lock(staging)
            file_mode, dir_mode = share_modes(self.root)
            _write_file(staging / "envelope.json", json.dumps(envelope, indent=2).encode(), file_mode)
            _write_parquet(staging / "run.parquet", _table([run_row(run_id, envelope)]), file_mode)
            rows = result_rows(run_id, envelope)
            if rows:
                _write_parquet(staging / "results.parquet", _table(rows, TIMING_FIELDS), file_mode)
            if samples:
                _write_parquet(staging / "samples.parquet", samples_table(run_id, samples), file_mode)
            os.chmod(staging, dir_mode)
            _fsync_dir(staging)
            try:
                os.rename(staging, final)
            except OSError:
                if final.exists():  # another writer stored the same envelope first
                    return StoredRun(run_id, final, created=False)
                raise
            _fsync_dir(self.runs_dir)
        except OSError as exc:
            raise store_error(exc, f"could not write shard {run_id} in {self.root}") from None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if held is not None:
                os.close(held)
        return StoredRun(run_id, final, created=True)

    def find_run_key(self, run_key: str) -> str | None:
        """The shard a run key already stored, if any (a crash between the shard's rename and the
        journal's removal leaves both)."""
        if not self.runs_dir.is_dir():
            return None
        suffix = "-" + run_key_digest(run_key)
        found = sorted(p.name for p in self.runs_dir.glob(f"run-*{suffix}") if (p / "envelope.json").is_file())
        return found[0] if found else None

    def run_ids(self) -> list[str]:
        """Every complete shard id, oldest name first."""
        try:
            if not self.runs_dir.is_dir():
                return []
            return sorted(p.name for p in self.runs_dir.iterdir() if (p / "envelope.json").is_file())
        except OSError as exc:
            raise store_error(exc, f"cannot read the store {self.root}") from None

    def resolve(self, prefix: str) -> str:
        """The one run id starting with ``prefix``; StoreError when none or several match."""
        return resolve_run_id(self.run_ids(), prefix, where=str(self.root))

    def envelope(self, run_id: str) -> JSON:
        """The stored envelope of one run (exact id or unique prefix)."""
        path = self.runs_dir / self.resolve(run_id) / "envelope.json"
        try:
            loaded: JSON = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise store_error(exc, f"cannot read {path}") from None
        return loaded

    def samples(self, run_id: str) -> list[dict[str, Any]]:
        """The per-sample records of one run (empty when the suite has none)."""
        path = self.runs_dir / self.resolve(run_id) / "samples.parquet"
        try:
            if not path.is_file():
                return []
            rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
        except OSError as exc:
            raise store_error(exc, f"cannot read {path}") from None
        return rows

    def glob(self, table: str) -> str:
        """A DuckDB glob over one table of every shard (``run``, ``results`` or ``samples``)."""
        return str(self.runs_dir / "*" / f"{table}.parquet")

    def has_table(self, table: str) -> bool:
        return self.runs_dir.is_dir() and any(self.runs_dir.glob(f"*/{table}.parquet"))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection for queries over this store's shards."""
        return duckdb.connect()


def samples_table(run_id: str, samples: Sequence[dict[str, Any]]) -> pa.Table:
    """Per-sample records as a table; nested values are kept as JSON text."""
    rows = []
    for sample in samples:
        row: dict[str, Any] = {"run_id": run_id}
        for key, value in sample.items():
            row[key] = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
        rows.append(row)
    return _table(rows)

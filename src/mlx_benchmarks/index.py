"""A derived, rebuildable index of a local store: the ``run`` and ``results`` rows of every shard, compacted.

Reading ten thousand small Parquet shards on every dashboard request is slow, so the rows are gathered into a
few Parquet parts under ``<store>/.index/v1/``. The index is keyed by the shard listing itself: each refresh
lists ``runs/`` (one directory read), and any shard id the index does not yet cover is read and appended as a
new part. Shards are immutable and appear by one atomic rename, so a listed shard is complete and rows once
read never go stale. A shard that disappears (by hand: the store is append-only) forces a rebuild.

The index never touches ``runs/``. Deleting ``.index/`` is always safe; an unwritable store keeps the index in
memory only.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.store import RUNS_DIR, store_error

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pa = lazy_module("pyarrow")
    pc = lazy_module("pyarrow.compute")
    pq = lazy_module("pyarrow.parquet")


INDEX_DIR = ".index"
INDEX_VERSION = "v1"
TABLES = ("run", "results")
MANIFEST = "manifest.json"
MAX_PARTS = 8  # beyond this many parts, compact them into one so a cold load opens few files


class IndexUnavailable(Exception):
    """The shards cannot be combined into one table (for example clashing column types)."""


def shard_listing(runs_dir: Path) -> set[str]:
    """Every shard directory in ``runs/``; a rename publishes a shard whole, so a listed one is complete."""
    try:
        with os.scandir(runs_dir) as entries:
            return {e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)}
    except FileNotFoundError:
        return set()
    except OSError as exc:  # permission denied, not a folder: one line, exit 2
        raise store_error(exc, f"cannot read the store {runs_dir.parent}") from None


def _concat(tables: Iterable[pa.Table]) -> pa.Table:
    kept = [t for t in tables if t.num_columns]
    if not kept:
        return pa.table({})
    try:
        # "permissive" unifies an all-null column of one shard with the typed column of another
        return pa.concat_tables(kept, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise IndexUnavailable(f"shards have clashing column types: {exc}") from None


def read_shards(runs_dir: Path, ids: Iterable[str], skipped: dict[str, str] | None = None) -> dict[str, pa.Table]:
    """The ``run`` and ``results`` rows of the given shards, one table each.

    With ``skipped``, one bad shard (unreadable Parquet, a NaN or infinite number from before validation refused
    them) is left out and named there with the reason, instead of failing every view of the store.
    """
    ordered = sorted(ids)
    if skipped is None:
        return _read_together(runs_dir, ordered)
    try:
        out = _read_together(runs_dir, ordered)
    except IndexUnavailable:
        good = []
        for run_id in ordered:  # find the culprits one shard at a time, then read the rest together as usual
            try:
                _read_together(runs_dir, [run_id])
                good.append(run_id)
            except IndexUnavailable as exc:
                skipped[run_id] = str(exc)[:300]
        out = _read_together(runs_dir, good)
    return _without_nonfinite(out, skipped)


def _without_nonfinite(tables: dict[str, pa.Table], skipped: dict[str, str]) -> dict[str, pa.Table]:
    results = tables["results"]
    if not results.num_rows:
        return tables
    bad: set[str] = set()
    for column in results.column_names:
        if column != "result_index" and pa.types.is_floating(results.schema.field(column).type):
            mask = pc.fill_null(pc.invert(pc.is_finite(results.column(column))), False)
            bad.update(str(r) for r in pc.filter(results.column("run_id"), mask).to_pylist())
    if not bad:
        return tables
    for run_id in bad:
        skipped[run_id] = "a result holds NaN or Infinity"
    drop = pa.array(sorted(bad), pa.string())
    return {name: t.filter(pc.invert(pc.is_in(t.column("run_id"), value_set=drop))) if t.num_rows else t
            for name, t in tables.items()}


def _read_together(runs_dir: Path, ordered: list[str]) -> dict[str, pa.Table]:
    """Every given shard in one DuckDB read.

    DuckDB reads the files in parallel (about three times faster than one ``pq.read_table`` per file here) and
    every part of the index comes from it, so the column types of old and new parts always agree.
    """
    out: dict[str, pa.Table] = {}
    con = duckdb.connect()
    try:
        for name in TABLES:
            files = [str(runs_dir / run_id / f"{name}.parquet") for run_id in ordered]
            if name == "results":
                files = [f for f in files if os.path.isfile(f)]  # a skipped run has no results
            if not files:
                out[name] = pa.table({})
                continue
            sql = "SELECT * FROM read_parquet($files, union_by_name = true)"
            out[name] = con.sql(sql, params={"files": files}).to_arrow_table()
    except duckdb.Error as exc:
        raise IndexUnavailable(f"cannot read the shards of {runs_dir}: {exc}") from None
    finally:
        con.close()
    return out


@dataclass
class ShardIndex:
    """The in-memory index of one store, persisted under ``.index/`` when the store is writable."""

    root: Path
    tables: dict[str, pa.Table] = field(default_factory=lambda: {name: pa.table({}) for name in TABLES})
    covered: frozenset[str] = frozenset()
    parts: list[str] = field(default_factory=list)  # part tokens as listed in the manifest
    generation: int = 0  # bumps whenever ``tables`` change, so callers can cache derived values
    skipped: dict[str, str] = field(default_factory=dict)  # shard id -> why it is left out of every view
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def directory(self) -> Path:
        return self.root / INDEX_DIR / INDEX_VERSION

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def refresh(self) -> bool:
        """Bring the index up to date with the shard listing; True when anything changed."""
        with self._lock:
            listing = shard_listing(self.runs_dir)
            if listing == self.covered:
                return False
            if not self.covered:
                self._load_persisted()
            if not self.covered <= listing:
                # a shard vanished: drop everything rather than risk serving its rows
                self._reset()
            missing = listing - self.covered
            if missing:
                self._append(read_shards(self.runs_dir, missing, self.skipped), frozenset(missing))
            self.generation += 1
            return True

    def _reset(self) -> None:
        self.tables = {name: pa.table({}) for name in TABLES}
        self.covered = frozenset()
        self.parts = []

    def _append(self, new: dict[str, pa.Table], listed: frozenset[str] = frozenset()) -> None:
        ids = frozenset(new["run"].column("run_id").to_pylist()) if new["run"].num_rows else frozenset()
        self.tables = {name: _concat([self.tables[name], new[name]]) for name in TABLES}
        self.covered = self.covered | ids | (listed & self.skipped.keys())  # a skipped shard is not re-read
        self._persist(new)

    def _load_persisted(self) -> None:
        """Adopt the parts on disk; any trouble means starting from nothing, which is always correct."""
        try:
            manifest = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
            tokens = [str(t) for t in manifest["parts"]]
            loaded = {name: [pq.read_table(self.directory / f"{name}-{t}.parquet") for t in tokens] for name in TABLES}
            tables = {name: _concat(loaded[name]) for name in TABLES}
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowInvalid, IndexUnavailable):
            return
        ids = tables["run"].column("run_id").to_pylist() if tables["run"].num_rows else []
        if len(set(ids)) != len(ids):
            return  # two writers raced on the manifest; rebuilding is cheaper than untangling
        self.tables = tables
        self.covered = frozenset(ids)
        self.parts = tokens

    def _persist(self, new: dict[str, pa.Table]) -> None:
        """Write the new rows as one part (or compact every part), then swap the manifest in one rename."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            compact = len(self.parts) + 1 > MAX_PARTS
            token = secrets.token_hex(6)
            source = self.tables if compact else new
            for name in TABLES:
                _atomic_parquet(self.directory / f"{name}-{token}.parquet", source[name])
            old = self.parts
            self.parts = [token] if compact else [*self.parts, token]
            _atomic_text(self.directory / MANIFEST, json.dumps({"parts": self.parts}))
            if compact:
                for stale in old:
                    for name in TABLES:
                        (self.directory / f"{name}-{stale}.parquet").unlink(missing_ok=True)
        except OSError:
            return  # a read-only store keeps its index in memory only


def _atomic_parquet(path: Path, table: pa.Table) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(table, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _atomic_text(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)

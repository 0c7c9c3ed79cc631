"""Open any store location for reading (``open_read_store``): our shards (``runs/``), the seed's flat files
(``data/*.parquet``, from its publisher or from ``publish --layout upstream``), or both as one history.

Every run of either side is listed once: a flat file whose rebuilt envelope equals one of our shards'
envelopes is the same run published both ways, and the shard (which also has the per-sample records)
stands for it. Read-only, like ``UpstreamStore``; the views query tables derived from the envelopes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError
from mlx_benchmarks.lake.location import describe
from mlx_benchmarks.lake.upstream_store import (
    RUNS_DIR,
    UpstreamStore,
    data_files,
    derived_tables,
    filesystem_for,
    has_flat_files,
    has_runs_dir,
)
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.store import Store, resolve_run_id


def _key(envelope: JSON) -> tuple[Any, ...]:
    return tuple(envelope.get(k) for k in ("timestamp", "git_sha", "suite", "model"))


class MergedStore:
    """Our shard store (a local ``Store`` or a ``RemoteStore``) and an ``UpstreamStore`` read as one."""

    def __init__(self, shards: Any, flat: UpstreamStore) -> None:
        self.shards = shards
        self.flat = flat
        self.root = flat.root
        self._envelopes: dict[str, JSON] | None = None
        self._owner: dict[str, Any] = {}
        self._tables: str | None = None

    def refresh(self) -> None:
        """Forget both listings; the next call reads them again."""
        for side in (self.shards, self.flat):
            refresh = getattr(side, "refresh", None)
            if callable(refresh):
                refresh()
        self._envelopes = None
        self._tables = None

    def _read(self) -> dict[str, JSON]:
        if self._envelopes is None:
            envelopes: dict[str, JSON] = {}
            owner: dict[str, Any] = {}
            ours: dict[tuple[Any, ...], list[JSON]] = {}
            for run_id in self.shards.run_ids():
                envelopes[run_id] = self.shards.envelope(run_id)
                owner[run_id] = self.shards
                ours.setdefault(_key(envelopes[run_id]), []).append(envelopes[run_id])
            for run_id in self.flat.run_ids():
                envelope = self.flat.envelope(run_id)
                # equal as values (120 == 120.0): the same run, already listed as our shard
                if envelope not in ours.get(_key(envelope), []):
                    envelopes[run_id] = envelope
                    owner[run_id] = self.flat
            self._envelopes, self._owner = envelopes, owner
        return self._envelopes

    def run_ids(self) -> list[str]:
        """Every run of both layouts, each once, sorted."""
        return sorted(self._read())

    def resolve(self, prefix: str) -> str:
        return resolve_run_id(self.run_ids(), prefix, where=str(self.root))

    def envelope(self, run_id: str) -> JSON:
        return self._read()[self.resolve(run_id)]

    def samples(self, run_id: str) -> list[dict[str, Any]]:
        """A shard's per-sample records; none for a flat file."""
        resolved = self.resolve(run_id)
        rows: list[dict[str, Any]] = self._owner[resolved].samples(resolved)
        return rows

    def glob(self, table: str) -> str:
        envelopes = self._read()
        if self._tables is None:
            self._tables = derived_tables(self, envelopes)
        return f"{self._tables}/{table}.parquet"

    def has_table(self, table: str) -> bool:
        return Path(self.glob(table)).is_file()

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()


def open_read_store(location: str) -> Any:
    """The read-only view of a folder or lake URL: our shards (``runs/``), the seed's flat files
    (``data/*.parquet``), or both read as one history (``history.MergedStore``)."""
    if not is_remote(location):  # no filesystem library needed for a plain local store
        folder = Path(location.removeprefix("file://")).expanduser()
        if not has_flat_files(folder):
            return Store(location)  # a store we may not read says so when it is read, in one line
        upstream = UpstreamStore(location)
        return MergedStore(Store(location), upstream) if (folder / RUNS_DIR).exists() else upstream
    fs, root = filesystem_for(location)
    try:
        flat = bool(data_files(fs, root))
        shards = has_runs_dir(fs, root)
    except BenchError:
        raise
    except Exception as exc:
        raise PublishError(f"reading {location} failed: {describe(exc)}") from None
    from mlx_benchmarks.lake.remote import RemoteStore

    ours = RemoteStore(location, fs=fs)
    if not flat:
        return ours
    remote_flat = UpstreamStore(location, fs=fs)
    return MergedStore(ours, remote_flat) if shards else remote_flat

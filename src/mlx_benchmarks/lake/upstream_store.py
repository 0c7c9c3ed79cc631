"""Read a dataset in the upstream layout (``data/*.parquet``, no ``runs/``) as a read-only store.

A local folder, ``s3://bucket/prefix`` or ``hf://datasets/ORG/NAME``. Every file is read once and its
envelope rebuilt (``upstream.envelope_from_rows``); the run ids are the file names without
``.parquet``. The views query the store's own tables (``run``, ``results``), derived from those
envelopes exactly as a local store derives them and kept in a private temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError
from mlx_benchmarks.lake.location import describe, parse_location
from mlx_benchmarks.lake.upstream import DATA_DIR, read_upstream
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.store import TIMING_FIELDS, _table, resolve_run_id, result_rows, run_row

RUNS_DIR = "runs"


def filesystem_for(location: str) -> tuple[Any, str]:
    """The fsspec filesystem and root path (as that filesystem spells it) of a folder or lake URL."""
    if not is_remote(location):
        import fsspec

        return fsspec.filesystem("file"), str(Path(location.removeprefix("file://")).expanduser().resolve())
    lake = parse_location(location)
    if lake.kind == "s3":
        from mlx_benchmarks.lake.s3 import s3_filesystem

        return s3_filesystem(), lake.fs_root
    from mlx_benchmarks.lake.hf import hf_filesystem

    return hf_filesystem(), lake.fs_root


def data_files(fs: Any, root: str) -> list[str]:
    """Paths of ``<root>/data/*.parquet``, sorted by name."""
    try:
        found = fs.glob(f"{root.rstrip('/')}/{DATA_DIR}/*.parquet")
    except FileNotFoundError:
        return []
    return sorted((str(p) for p in found), key=lambda p: p.rsplit("/", 1)[-1])


def has_runs_dir(fs: Any, root: str) -> bool:
    try:
        return bool(fs.exists(f"{root.rstrip('/')}/{RUNS_DIR}"))
    except FileNotFoundError:
        return False


def local_is_upstream(location: str) -> bool:
    """A local folder with ``data/*.parquet`` and no ``runs/``: the upstream layout (no filesystem library needed)."""
    if is_remote(location):
        return False
    root = Path(location).expanduser()
    return not (root / RUNS_DIR).exists() and any((root / DATA_DIR).glob("*.parquet"))


class UpstreamStore:
    """A read-only store over an upstream-layout dataset; implements query.Queryable and the Store read methods."""

    def __init__(self, location: str, *, fs: Any = None) -> None:
        self.root = location
        if fs is None:
            fs, self._path = filesystem_for(location)
        else:
            self._path = parse_location(location).fs_root if is_remote(location) else location
        self.fs = fs
        self._envelopes: dict[str, JSON] | None = None
        self._envelopes_read: list[str] = []
        self._tables: str | None = None

    def _wrap(self, exc: Exception) -> PublishError:
        return PublishError(f"reading {self.root} failed: {describe(exc)}")

    def refresh(self) -> None:
        """Forget what was read; the next call lists the dataset again."""
        self._envelopes = None

    def _read(self) -> dict[str, JSON]:
        if self._envelopes is None:
            envelopes: dict[str, JSON] = {}
            try:
                for path in data_files(self.fs, self._path):
                    name = path.rsplit("/", 1)[-1]
                    with self.fs.open(path, "rb") as handle:
                        envelopes[name.removesuffix(".parquet")] = read_upstream(handle, where=f"{DATA_DIR}/{name}")
            except BenchError:
                raise
            except Exception as exc:
                raise self._wrap(exc) from None
            if self._envelopes_read != sorted(envelopes):  # new files: the derived tables are stale
                self._tables = None
            self._envelopes = envelopes
            self._envelopes_read = sorted(envelopes)
        return self._envelopes

    def run_ids(self) -> list[str]:
        """Every file's run id (its name without ``.parquet``), sorted."""
        return sorted(self._read())

    def resolve(self, prefix: str) -> str:
        return resolve_run_id(self.run_ids(), prefix, where=self.root)

    def envelope(self, run_id: str) -> JSON:
        """The envelope rebuilt from one file's rows (exact id or unique prefix)."""
        return self._read()[self.resolve(run_id)]

    def samples(self, run_id: str) -> list[dict[str, Any]]:
        """Always empty: the upstream layout has no per-sample records."""
        self.resolve(run_id)
        return []

    def _materialize(self) -> str:
        """Write the ``run`` and ``results`` tables of every envelope once into a private folder."""
        envelopes = self._read()
        if self._tables is None:
            folder = tempfile.mkdtemp(prefix="mlx-bench-upstream-")
            weakref.finalize(self, shutil.rmtree, folder, True)  # removed with the store (or at exit)
            runs = [run_row(rid, env) for rid, env in sorted(envelopes.items())]
            results = [row for rid, env in sorted(envelopes.items()) for row in result_rows(rid, env)]
            if runs:
                pq.write_table(_table(runs), f"{folder}/run.parquet")
            if results:
                pq.write_table(_table(results, TIMING_FIELDS), f"{folder}/results.parquet")
            self._tables = folder
        return self._tables

    def glob(self, table: str) -> str:
        return f"{self._materialize()}/{table}.parquet"

    def has_table(self, table: str) -> bool:
        return Path(self.glob(table)).is_file()

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()


def open_read_store(location: str) -> Any:
    """The read-only store of a lake URL or an upstream-layout folder: upstream when ``data/*.parquet`` exists
    without ``runs/``, else the lake of our shards (``RemoteStore``)."""
    if is_remote(location):
        fs, root = filesystem_for(location)
        try:
            upstream = bool(data_files(fs, root)) and not has_runs_dir(fs, root)
        except BenchError:
            raise
        except Exception as exc:
            raise PublishError(f"reading {location} failed: {describe(exc)}") from None
        if upstream:
            return UpstreamStore(location, fs=fs)
        from mlx_benchmarks.lake.remote import RemoteStore

        return RemoteStore(location, fs=fs)
    return UpstreamStore(location)

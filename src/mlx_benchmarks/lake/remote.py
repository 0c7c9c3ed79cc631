"""Read a remote lake as a store: ``mlx-bench runs/show/compare --store s3://... | hf://...``.

DuckDB reads the remote Parquet shards through an fsspec filesystem registered on its connection (no
httpfs extension needed). That filesystem is the lake's own (s3fs, HfFileSystem) seen through a
``mlxlake://`` view rooted at the lake and filtered to complete shards: a shard whose
``envelope.json`` is not there yet (a publish still uploading) is invisible to every query.

The set of complete shards is read once per ``RemoteStore`` (a snapshot); call ``refresh()`` to see
shards published since.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
from fsspec.implementations.dirfs import DirFileSystem

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError
from mlx_benchmarks.lake.location import LakeLocation, describe, parse_location
from mlx_benchmarks.lake.shards import ENVELOPE, complete_ids, lake_files
from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.store import resolve_run_id

if TYPE_CHECKING:
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pq = lazy_module("pyarrow.parquet")


PROTOCOL = "mlxlake"
IMMUTABLE_MTIME = datetime(2000, 1, 1, tzinfo=UTC)


class CompleteShardsView(DirFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """The lake root as ``mlxlake://``; its glob matches only files of complete shards.

    Globs are answered from the snapshot listing, so DuckDB's glob costs no request; opening and
    reading files goes to the lake's filesystem.
    """

    protocol = PROTOCOL

    def __init__(self, root: str, fs: Any, files: list[str]) -> None:
        super().__init__(path=root, fs=fs, skip_instance_cache=True)
        complete = complete_ids(files)
        self.files = sorted(f for f in files if f.split("/")[1] in complete)

    def modified(self, path: str) -> datetime:
        # shards are immutable (content-addressed ids), so a fixed time is true enough for DuckDB's
        # cache checks and saves one metadata request per file (HfFileSystem asks for the last commit)
        return IMMUTABLE_MTIME

    def glob(self, path: str, **kwargs: Any) -> Any:
        pattern = self._strip_protocol(path).strip("/")
        depth = pattern.count("/")
        found = [f for f in self.files if f.count("/") == depth and fnmatch.fnmatchcase(f, pattern)]
        if kwargs.get("detail"):
            return {f: self.info(f) for f in found}
        return found


class RemoteStore:
    """A read-only store over a lake URL; implements query.Queryable plus the Store read methods."""

    def __init__(self, location: str, *, fs: Any = None) -> None:
        self.location: LakeLocation = parse_location(location)
        self._fs = fs
        self._files: list[str] | None = None

    @property
    def root(self) -> str:
        return self.location.url

    def _wrap(self, exc: Exception) -> PublishError:
        return PublishError(f"reading {self.location.url} failed: {describe(exc)}")

    @property
    def fs(self) -> Any:
        """The lake's fsspec filesystem, created on first use."""
        if self._fs is None:
            if self.location.kind == "s3":
                from mlx_benchmarks.lake.s3 import s3_filesystem

                self._fs = s3_filesystem()
            else:
                from mlx_benchmarks.lake.hf import hf_filesystem

                self._fs = hf_filesystem()
        return self._fs

    def refresh(self) -> None:
        """Forget the snapshot of complete shards."""
        self._files = None

    def _listing(self) -> list[str]:
        """``runs/<id>/<file>`` for every file in the lake, listed once per snapshot."""
        if self._files is None:
            try:
                self._files = lake_files(self.fs, self.location)
            except BenchError:
                raise
            except Exception as exc:
                raise self._wrap(exc) from None
        return self._files

    def run_ids(self) -> list[str]:
        """Every complete shard id, oldest name first."""
        return sorted(complete_ids(self._listing()))

    def resolve(self, prefix: str) -> str:
        """The one run id starting with ``prefix``; StoreError when none or several match."""
        return resolve_run_id(self.run_ids(), prefix, where=self.location.url)

    def envelope(self, run_id: str) -> JSON:
        """The published envelope of one run (exact id or unique prefix)."""
        path = self.location.run_path(self.resolve(run_id), ENVELOPE)
        try:
            loaded: JSON = json.loads(self.fs.cat_file(path))
        except Exception as exc:
            raise self._wrap(exc) from None
        return loaded

    def samples(self, run_id: str) -> list[dict[str, Any]]:
        """The per-sample records of one run (empty when the suite has none)."""
        resolved = self.resolve(run_id)
        if f"runs/{resolved}/samples.parquet" not in self._listing():
            return []
        try:
            with self.fs.open(self.location.run_path(resolved, "samples.parquet"), "rb") as handle:
                rows: list[dict[str, Any]] = pq.read_table(handle).to_pylist()
        except Exception as exc:
            raise self._wrap(exc) from None
        return rows

    def view(self) -> CompleteShardsView:
        """The ``mlxlake://`` filesystem DuckDB reads through."""
        return CompleteShardsView(self.location.fs_root, self.fs, self._listing())

    def glob(self, table: str) -> str:
        """A DuckDB glob over one table of every complete shard."""
        return f"{PROTOCOL}://runs/*/{table}.parquet"

    def has_table(self, table: str) -> bool:
        return bool(self.view().glob(f"runs/*/{table}.parquet"))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the lake registered as ``mlxlake://``."""
        con = duckdb.connect()
        con.register_filesystem(self.view())
        return con

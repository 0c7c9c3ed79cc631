"""Read a dataset in the seed's flat layout (``data/*.parquet``) as a read-only store.

A local folder, ``s3://bucket/prefix`` or ``hf://datasets/ORG/NAME``. Every file is read once and its
envelope rebuilt (``upstream_read.read_upstream``); a file that does not rebuild is left out with one
warning line on stderr, and a file holding the same run as another is listed once. The run ids are the
file names without ``.parquet``. The views query the store's own tables (``run``, ``results``), derived
from those envelopes exactly as a local store derives them and kept in a private temporary folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError, StoreError
from mlx_benchmarks.lake.location import describe, parse_location
from mlx_benchmarks.lake.upstream import DATA_DIR
from mlx_benchmarks.lake.upstream_read import read_upstream
from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.store import TIMING_FIELDS, _table, resolve_run_id, result_rows, run_row

if TYPE_CHECKING:
    import pyarrow.parquet as pq
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pq = lazy_module("pyarrow.parquet")


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
    try:
        return not (root / RUNS_DIR).exists() and any((root / DATA_DIR).glob("*.parquet"))
    except OSError:  # a store we may not read: opening it says so, in one line
        return False


def has_flat_files(folder: Path) -> bool:
    """A local folder with ``data/*.parquet`` (False where it cannot be read: opening it says so)."""
    try:
        return any((folder / DATA_DIR).glob("*.parquet"))
    except OSError:
        return False


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
        self.skipped: dict[str, str] = {}  # file name -> why it did not rebuild
        self.duplicates: dict[str, JSON] = {}  # run id -> its envelope, equal to a run listed under another id

    def _wrap(self, exc: Exception) -> PublishError:
        return PublishError(f"reading {self.root} failed: {describe(exc)}")

    def refresh(self) -> None:
        """Forget what was read; the next call lists the dataset again."""
        self._envelopes = None

    def _read(self) -> dict[str, JSON]:
        if self._envelopes is None:
            envelopes: dict[str, JSON] = {}
            skipped: dict[str, str] = {}
            try:
                for path in data_files(self.fs, self._path):
                    name = path.rsplit("/", 1)[-1]
                    try:
                        with self.fs.open(path, "rb") as handle:
                            envelopes[name.removesuffix(".parquet")] = read_upstream(handle, where=f"{DATA_DIR}/{name}")
                    except StoreError as exc:  # one bad file must not hide the rest of the history
                        skipped[name] = str(exc)
            except BenchError:
                raise
            except Exception as exc:
                raise self._wrap(exc) from None
            envelopes = self._once(envelopes)
            for name, reason in sorted(skipped.items()):
                if name not in self.skipped:
                    sys.stderr.write(f"mlx-bench: warning: skipped {reason}\n")
            self.skipped = skipped
            if self._envelopes_read != sorted(envelopes):  # new files: the derived tables are stale
                self._tables = None
            self._envelopes = envelopes
            self._envelopes_read = sorted(envelopes)
        return self._envelopes

    def _once(self, envelopes: dict[str, JSON]) -> dict[str, JSON]:
        """Each run once: a later file (by name) whose envelope equals an earlier one's is the same run
        published again with other bytes (another pyarrow wrote it, so its name's hash differs)."""
        kept: dict[str, JSON] = {}
        seen: dict[tuple[Any, ...], list[JSON]] = {}
        self.duplicates = {}
        for run_id in sorted(envelopes):
            envelope = envelopes[run_id]
            key = tuple(envelope.get(k) for k in ("timestamp", "git_sha", "suite", "model"))
            if envelope in seen.get(key, []):
                self.duplicates[run_id] = envelope
                continue
            seen.setdefault(key, []).append(envelope)
            kept[run_id] = envelope
        return kept

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
            self._tables = derived_tables(self, envelopes)
        return self._tables

    def glob(self, table: str) -> str:
        return f"{self._materialize()}/{table}.parquet"

    def has_table(self, table: str) -> bool:
        return Path(self.glob(table)).is_file()

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()


def derived_tables(owner: object, envelopes: dict[str, JSON]) -> str:
    """A private folder (removed with ``owner``) holding ``run.parquet`` and ``results.parquet`` derived from
    ``envelopes`` (run id -> envelope) exactly as a local store derives them."""
    folder = tempfile.mkdtemp(prefix="mlx-bench-upstream-")
    weakref.finalize(owner, shutil.rmtree, folder, True)  # removed with the store (or at exit)
    runs = [run_row(rid, env) for rid, env in sorted(envelopes.items())]
    results = [row for rid, env in sorted(envelopes.items()) for row in result_rows(rid, env)]
    if runs:
        pq.write_table(_table(runs), f"{folder}/run.parquet")
    if results:
        pq.write_table(_table(results, TIMING_FIELDS), f"{folder}/results.parquet")
    return folder

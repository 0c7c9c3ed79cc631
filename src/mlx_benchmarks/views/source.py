"""Where the views read from: the local store's index, or DuckDB globs over a remote lake's shards."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mlx_benchmarks.compare.config_key import with_config_sql
from mlx_benchmarks.index import IndexUnavailable, ShardIndex
from mlx_benchmarks.lazy import lazy_module
from mlx_benchmarks.query import Queryable, relation
from mlx_benchmarks.store import Store

if TYPE_CHECKING:
    import pyarrow as pa
else:  # imported on first use (mlx_benchmarks.lazy): listing and showing runs need none of it
    pa = lazy_module("pyarrow")


REMOTE_RELIST_SECONDS = 10.0
# the columns the views rely on, for a store with no results at all
_EMPTY_RESULTS = (
    "SELECT NULL::VARCHAR AS run_id, NULL::TIMESTAMPTZ AS timestamp, NULL::VARCHAR AS suite, "
    "NULL::VARCHAR AS model, NULL::BIGINT AS result_index, NULL::VARCHAR AS name, NULL::VARCHAR AS metric, "
    "NULL::DOUBLE AS value, NULL::VARCHAR AS unit, NULL::VARCHAR AS tags_json, NULL::BOOLEAN AS skipped, "
    "NULL::VARCHAR AS quantization, NULL::BIGINT AS seed, NULL::VARCHAR AS gen_kwargs_json, "
    "NULL::VARCHAR AS config WHERE false"
)
_EMPTY_RUNS = (
    "SELECT NULL::VARCHAR AS run_id, NULL::TIMESTAMPTZ AS timestamp, NULL::VARCHAR AS suite, "
    "NULL::VARCHAR AS model, NULL::BOOLEAN AS skipped, NULL::BIGINT AS n_results, NULL::BIGINT AS n_errors, "
    "NULL::VARCHAR AS quantization, NULL::VARCHAR AS git_sha, NULL::VARCHAR AS trigger, "
    "NULL::VARCHAR AS system_chip WHERE false"
)


class ViewSource:
    """Opens DuckDB connections with two views, ``runs`` and ``results``, over every stored shard.

    A local store goes through ``ShardIndex`` (refreshed on every connection, so a new shard is seen at the next
    request); a remote store, or a local one whose shards cannot be combined, is read through its globs.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._index = ShardIndex(Path(store.root)) if isinstance(store, Store) else None
        self._lock = threading.Lock()
        self._remote_listed = time.monotonic()  # a new RemoteStore has just listed (or will on first use)
        self._configured: tuple[int, pa.Table] | None = None  # (index generation, results with ``config``)

    @property
    def generation(self) -> int | None:
        """Changes whenever the indexed rows change; None when there is no index to key a cache on."""
        return self._index.generation if self._index is not None else None

    @property
    def skipped(self) -> dict[str, str]:
        """Shards left out of every view (unreadable, or holding NaN): id -> reason, for a warning."""
        return dict(self._index.skipped) if self._index is not None else {}

    def _indexed(self) -> ShardIndex | None:
        if self._index is None:
            return None
        try:
            self._index.refresh()
        except IndexUnavailable:
            return None
        return self._index

    def _refresh_remote(self) -> None:
        """A remote store lists its lake once per snapshot; take a new snapshot now and then, not per request."""
        refresh = getattr(self.store, "refresh", None)
        now = time.monotonic()
        if callable(refresh) and now - self._remote_listed >= REMOTE_RELIST_SECONDS:
            refresh()
            self._remote_listed = now

    def _results_with_config(self, index: ShardIndex) -> pa.Table:
        """The index's results rows with their ``config`` column (``compare.config_key``), computed once per
        index generation so no request parses every row's tags again."""
        if self._configured is None or self._configured[0] != index.generation:
            raw = index.tables["results"]
            table = raw
            if raw.num_rows:
                con = duckdb.connect()
                con.register("raw_results", raw)
                table = con.sql(with_config_sql("raw_results")).to_arrow_table()
                con.close()
            self._configured = (index.generation, table)
        return self._configured[1]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory connection; each caller gets its own, so request threads never share one."""
        with self._lock:
            index = self._indexed()
            results = self._results_with_config(index) if index is not None else None
        if index is not None and results is not None:
            con = duckdb.connect()
            for view, arrow in (("runs", index.tables["run"]), ("results", results)):
                if arrow.num_rows:
                    con.register(view, arrow)
                else:
                    con.execute(f"CREATE VIEW {view} AS {_EMPTY_RUNS if view == 'runs' else _EMPTY_RESULTS}")
            return con
        queryable: Queryable = self.store
        self._refresh_remote()
        con = queryable.connect()  # a remote store's connection carries its credentials
        for view, table, empty in (("runs", "run", _EMPTY_RUNS), ("results", "results", _EMPTY_RESULTS)):
            body = f"SELECT * FROM {relation(queryable, table)}" if queryable.has_table(table) else empty
            if table == "results" and queryable.has_table(table):  # globbed: the configuration is computed per query
                body = with_config_sql(relation(queryable, table))
            con.execute(f"CREATE VIEW {view} AS {body}")
        return con

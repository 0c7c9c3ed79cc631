"""Read-side queries over the store's shards, through DuckDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import duckdb


class Queryable(Protocol):
    """A store DuckDB can read: a local Store or a remote lake view."""

    def glob(self, table: str) -> str: ...

    def has_table(self, table: str) -> bool: ...

    def connect(self) -> duckdb.DuckDBPyConnection: ...


def relation(store: Queryable, table: str) -> str:
    """SQL for every shard's ``table`` parquet, columns unified by name."""
    return f"read_parquet('{store.glob(table)}', union_by_name = true)"


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_runs(
    store: Queryable,
    *,
    suite: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored runs, newest first, as dicts with ``id``, ``timestamp``, ``suite``, ``model`` and more."""
    if not store.has_table("run"):
        return []
    where: list[str] = []
    params: list[Any] = []
    if suite:
        where.append("suite = ?")
        params.append(suite)
    if model:
        where.append("(model = ? OR model ILIKE ?)")
        params += [model, f"%{model}%"]
    if since:
        where.append("timestamp >= ?")
        params.append(since)
    sql = (
        "SELECT run_id AS id, timestamp, suite, model, quantization, git_sha, trigger, skipped, "
        f"n_results, n_errors, system_chip AS chip FROM {relation(store, 'run')}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY timestamp DESC, run_id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    return fetch(store.connect(), sql, params)

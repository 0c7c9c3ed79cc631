"""What the run list and a run's page add to the stored rows: short ids, a headline and key parameters per
run, and a run's tags split into the ones every result shares and the ones that vary.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlx_benchmarks.query import fetch
from mlx_benchmarks.views.run_summary import headline_of, parameters_of

JSON = dict[str, Any]
# "run-YYYYMMDDTHHMMSS": a short id never stops inside the time it names, so short ids line up and read as times
MIN_SHORT_ID = len("run-20260101T000000")


def short_ids(all_ids: Iterable[str], minimum: int = MIN_SHORT_ID) -> dict[str, str]:
    """Each id's shortest prefix (at least ``minimum`` characters) that no other id starts with.

    Every store command resolves a unique prefix, so a short id is accepted wherever a run id is.
    """
    ordered = sorted(set(all_ids))
    out = {}
    for index, run_id in enumerate(ordered):
        neighbours = ordered[max(0, index - 1):index] + ordered[index + 1:index + 2]  # the longest shared starts
        # character by character is the point here: ids are resolved by string prefix, not by path part
        shared = max((len(os.path.commonprefix([run_id, other])) for other in neighbours), default=0)  # noqa: RUF071
        length = max(minimum, shared + 1)
        out[run_id] = run_id[:length]  # longer than any other id it shares a start with, so exactly one match
    return out


def _tags(text: Any) -> dict[str, str]:
    loaded = json.loads(text) if isinstance(text, str) and text else {}
    return loaded if isinstance(loaded, dict) else {}


def _results_by_run(con: Any, run_ids: Sequence[str]) -> tuple[dict[str, list[JSON]], dict[str, JSON]]:
    """The listed runs' results (name, metric, value, unit, tags; in envelope order) and their gen_kwargs."""
    results: dict[str, list[JSON]] = {run_id: [] for run_id in run_ids}
    gen: dict[str, JSON] = {}
    if not run_ids:
        return results, gen
    con.execute("CREATE TEMP TABLE listed AS SELECT unnest(?) AS run_id", [list(run_ids)])
    rows = fetch(con, "SELECT r.run_id, r.result_index, r.name, r.metric, r.value, r.unit, r.tags_json "
                      "FROM results r JOIN listed USING (run_id) ORDER BY r.run_id, r.result_index")
    for row in rows:
        results[row["run_id"]].append({"name": row["name"], "metric": row["metric"], "value": row["value"],
                                       "unit": row["unit"], "tags": _tags(row["tags_json"])})
    for row in fetch(con, "SELECT u.run_id, u.gen_kwargs_json FROM runs u JOIN listed USING (run_id)"):
        gen[row["run_id"]] = _tags(row["gen_kwargs_json"])
    return results, gen


# more new shards than this since the index was last written: the full index refresh (which writes it) is cheaper
MAX_UNINDEXED = 64
_RUN_COLUMNS = ("run_id, timestamp, suite, model, quantization, git_sha, trigger, skipped, n_results, n_errors, "
                "system_chip AS chip")


def _files_sql(files: Sequence[str]) -> str:
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], union_by_name = true)"


def indexed_connection(store: Any) -> Any | None:
    """A DuckDB connection with ``runs`` and ``results`` views over a local store's persisted index parts plus
    the few shards written since, read by DuckDB from their files: no Arrow table crosses into Python, so
    neither pyarrow.dataset nor pandas loads (registering an Arrow table with DuckDB imports pandas: ~1 s).

    None when the store is not local, the index is missing or stale by more than ``MAX_UNINDEXED`` shards, or
    a file cannot be read: the caller then takes ``ViewSource``, which rebuilds the index and skips bad shards.
    """
    import duckdb

    from mlx_benchmarks.index import INDEX_DIR, INDEX_VERSION, MANIFEST, TABLES, shard_listing
    from mlx_benchmarks.store import Store

    if not isinstance(store, Store):
        return None
    directory = store.root / INDEX_DIR / INDEX_VERSION
    try:
        tokens = [str(t) for t in json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["parts"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    listing = shard_listing(store.runs_dir)
    con = duckdb.connect()
    try:
        parts = {name: [str(directory / f"{name}-{t}.parquet") for t in tokens] for name in TABLES}
        covered = {row[0] for row in con.execute(f"SELECT run_id FROM {_files_sql(parts['run'])}").fetchall()}
        missing = sorted(listing - covered)
        if not covered <= listing or len(missing) > MAX_UNINDEXED:
            return None
        for name, view in (("run", "runs"), ("results", "results")):
            files = parts[name] + [f for f in (str(store.runs_dir / i / f"{name}.parquet") for i in missing)
                                   if os.path.isfile(f)]
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM {_files_sql(files)}")
        con.execute("SELECT count(*) FROM runs").fetchall()  # a bad new shard fails here, not half-way through
    except duckdb.Error:
        con.close()
        return None
    return con


def _listed_rows(con: Any, *, suite: str | None, model: str | None) -> list[JSON]:
    where, params = ["true"], []
    if suite:
        where.append("suite = ?")
        params.append(suite)
    if model:
        where.append("(model = ? OR model ILIKE ?)")  # as the views' Filters match a model
        params += [model, f"%{model}%"]
    rows = fetch(con, f"SELECT {_RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} "
                      "ORDER BY timestamp DESC, run_id DESC", params)
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat() if isinstance(row["timestamp"], datetime) else str(row["timestamp"])
    return rows


COMPARISON_SUITE = "capability-comparison"  # as runner.multi names it (not imported: views rank below runner)


@dataclass(frozen=True)
class RunPage:
    """The runs ``mlx-bench runs`` prints, and how many it left out: past the row limit, or twins."""

    rows: list[JSON]
    matched: int  # runs matching the filters, twins excepted when hidden
    hidden_twins: int


def runs_page(store: Any, *, suite: str | None = None, model: str | None = None, since: datetime | None = None,
              limit: int | None = None, twins: bool = True) -> RunPage:
    """Stored runs, newest first, as ``mlx-bench runs`` lists them: the run row with ``short_id``,
    ``headline`` and ``parameters`` added; headlines are computed for the ``limit`` rows shown only.

    ``twins=False`` leaves out the ``capability-comparison`` copy a multi-target run stores of each target's
    run (unless ``suite`` asks for that suite). Read from the local store's index parts and new shards
    (``indexed_connection``) when it can, else through ``ViewSource`` (the dashboard's index, a lake's globs).
    """
    con = indexed_connection(store)
    if con is not None:
        rows = _listed_rows(con, suite=suite, model=model)
    else:
        from mlx_benchmarks.views.queries import Filters, run_list
        from mlx_benchmarks.views.source import ViewSource

        source = ViewSource(store)
        rows = run_list(source, Filters(suite=suite, model=model), limit=2**62)["runs"]
        con = source.connect()
    if since is not None:  # newest first: the runs since a time are a prefix of the list
        rows = list(itertools.takewhile(lambda row: datetime.fromisoformat(row["timestamp"]) >= since, rows))
    hidden = 0
    if not twins and suite != COMPARISON_SUITE:
        kept = [row for row in rows if row["suite"] != COMPARISON_SUITE]
        hidden, rows = len(rows) - len(kept), kept
    matched = len(rows)
    rows = rows[:limit] if limit else rows
    ids = [row["run_id"] for row in rows]
    all_ids = store.run_ids() if callable(getattr(store, "run_ids", None)) else ids
    shorts = short_ids([*all_ids, *ids])
    results, gen = _results_by_run(con, ids)
    described = []
    for row in rows:
        run_id = row.pop("run_id")
        mine = results.get(run_id, [])
        headline = "skipped" if row.get("skipped") else headline_of(row["suite"], mine)
        described.append({"id": run_id, **row, "short_id": shorts[run_id], "headline": headline,
                          "parameters": parameters_of(row["suite"], mine, gen.get(run_id))})
    return RunPage(described, matched, hidden)


def described_runs(store: Any, *, suite: str | None = None, model: str | None = None,
                   since: datetime | None = None, limit: int | None = None) -> list[JSON]:
    """Every stored run matching the filters (twins included), as ``runs_page`` describes them."""
    return runs_page(store, suite=suite, model=model, since=since, limit=limit).rows


def split_tags(results: Sequence[JSON]) -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    """Tags every result carries with one value, and per result (labelled by name) the tags that vary."""
    tag_sets = [r.get("tags") or {} for r in results]
    shared: dict[str, str] = {}
    if tag_sets:
        first = tag_sets[0]
        shared = {k: v for k, v in sorted(first.items()) if all(t.get(k) == v for t in tag_sets[1:])}
    names = [r["name"] for r in results]
    varying = []
    for result, tags in zip(results, tag_sets, strict=True):
        label = result["name"] if names.count(result["name"]) == 1 else f"{result['name']} ({result['metric']})"
        rest = {k: v for k, v in sorted(tags.items()) if k not in shared}
        if rest:
            varying.append((label, rest))
    return shared, varying

"""Read-side views over every stored run: catalog, leaderboard, trend series, pivot and run list.

Each returns plain JSON-ready data (ISO timestamps, floats, strings), shared by the HTML report and the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlx_benchmarks.compare.config_key import (
    TASK_KEYS,
    config_label,
    config_text,
    parse_config_text,
    varying_keys,
)
from mlx_benchmarks.compare.direction import higher_is_better
from mlx_benchmarks.compare.trend import DEFAULT_ALPHA, detect_change_points, min_series_length
from mlx_benchmarks.compare.validity import VALID_SQL
from mlx_benchmarks.query import fetch
from mlx_benchmarks.views.labels import result_label
from mlx_benchmarks.views.source import ViewSource

JSON = dict[str, Any]


@dataclass(frozen=True)
class Filters:
    """Which runs a view covers: a suite name and a model (exact, or a case-insensitive substring)."""

    suite: str | None = None
    model: str | None = None

    def sql(self, prefix: str = "") -> tuple[str, list[Any]]:
        where, params = [], []
        if self.suite:
            where.append(f"{prefix}suite = ?")
            params.append(self.suite)
        if self.model:
            where.append(f"({prefix}model = ? OR {prefix}model ILIKE ?)")
            params += [self.model, f"%{self.model}%"]  # same matching as ``mlx-bench runs --model``
        return (" AND ".join(where) or "true"), params


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


NO_FILTERS = Filters()


def _latest_cte(filters: Filters) -> tuple[str, list[Any]]:
    """Latest run with results per (model, suite): a skipped run has nothing to rank."""
    where, params = filters.sql()
    return (
        "latest AS (SELECT run_id, model, suite, timestamp FROM ("
        " SELECT run_id, model, suite, timestamp, row_number() OVER ("
        "  PARTITION BY model, suite ORDER BY timestamp DESC, run_id DESC) AS rn"
        f" FROM runs WHERE NOT coalesce(skipped, false) AND n_results > 0 AND {where}) WHERE rn = 1)"
    ), params


def catalog(src: ViewSource, filters: Filters = NO_FILTERS) -> JSON:
    """Suites with their (name, metric, unit) keys, models, and run counts: what the pickers offer."""
    con = src.connect()
    where, params = filters.sql()
    metrics = fetch(
        con,
        "SELECT suite, name, metric, any_value(unit) AS unit, count(*) AS n, avg(result_index) AS position "
        f"FROM results WHERE {where} GROUP BY suite, name, metric ORDER BY suite, position, name, metric",
        params,
    )
    models = fetch(con, f"SELECT model, count(*) AS n FROM runs WHERE {where} GROUP BY model ORDER BY model", params)
    total = fetch(con, f"SELECT count(*) AS n, max(timestamp) AS newest FROM runs WHERE {where}", params)[0]
    suites: dict[str, list[JSON]] = {}
    for row in metrics:
        suites.setdefault(row["suite"], []).append(
            {"name": row["name"], "metric": row["metric"], "unit": row["unit"], "n": row["n"]}
        )
    return {
        "suites": [{"suite": suite, "metrics": keys} for suite, keys in suites.items()],
        "models": [row["model"] for row in models],
        "n_runs": total["n"],
        "newest": iso(total["newest"]) if total["newest"] is not None else None,
    }


def _headline(rows: list[JSON]) -> tuple[str, str]:
    """The (name, metric) most latest runs report, earliest in their result lists on a tie."""
    counts: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        counts.setdefault((row["name"], row["metric"]), []).append(row["result_index"])
    return min(counts, key=lambda k: (-len(counts[k]), sum(counts[k]) / len(counts[k]), k))


def _tags(text: Any) -> dict[str, str]:
    loaded = json.loads(text) if isinstance(text, str) and text else {}
    return loaded if isinstance(loaded, dict) else {}


def _latest_per_configuration(src: ViewSource, filters: Filters, include_invalid: bool = False) -> list[JSON]:
    """Per (suite, model, name, metric, configuration): the newest result, with its parsed configuration; a
    result tagged valid=false is passed over unless ``include_invalid`` (``compare.validity``)."""
    where, params = filters.sql()
    if not include_invalid:
        where = f"{where} AND {VALID_SQL}"
    rows = fetch(
        src.connect(),
        "SELECT suite, model, run_id, timestamp, result_index, name, metric, value, unit, tags_json, config FROM ("
        " SELECT *, row_number() OVER (PARTITION BY suite, model, name, metric, config"
        "  ORDER BY timestamp DESC, run_id DESC, result_index) AS rn"
        f" FROM results WHERE NOT coalesce(skipped, false) AND {where})"
        " WHERE rn = 1 ORDER BY suite, model, timestamp DESC, run_id DESC, result_index",
        params,
    )
    for row in rows:
        row["config"] = parse_config_text(row["config"])
    return rows


def _board_rows(suite_rows: list[JSON], key: tuple[str, str]) -> tuple[list[JSON], bool | None]:
    """One entry per (model, configuration) of the headline result; a model without it gets one empty entry."""
    entries: list[JSON] = []
    direction: bool | None = None
    by_run: dict[str, list[JSON]] = {}
    for row in suite_rows:
        by_run.setdefault(row["run_id"], []).append(row)
    for row in suite_rows:
        if (row["name"], row["metric"]) != key:
            continue
        if direction is None:
            direction = higher_is_better(row["unit"], _tags(row["tags_json"]))
        entries.append(_entry(row, by_run[row["run_id"]], value=True))
    ranked = {entry["model"] for entry in entries}
    for row in suite_rows:  # newest first within a model, so the first row seen is its latest run
        if row["model"] not in ranked:
            ranked.add(row["model"])
            entries.append(_entry(row, by_run[row["run_id"]], value=False))
    return entries, direction


def _entry(row: JSON, run_rows: list[JSON], *, value: bool) -> JSON:
    return {
        "model": row["model"], "run_id": row["run_id"], "timestamp": iso(row["timestamp"]),
        "value": row["value"] if value else None, "unit": row["unit"] if value else None,
        "config": row["config"] if value else {},
        "results": [{**{k: r[k] for k in ("name", "metric", "value", "unit")},
                     "title": result_label(r["name"], r["metric"]), "stderr": _stderr(r["tags_json"])}
                    for r in sorted(run_rows, key=lambda r: r["result_index"])],
        "stderr": _stderr(row["tags_json"]) if value else None,
    }


# the keys that name a setup first: a log-likelihood and a generative run read "scoring=loglikelihood" and
# "scoring=generate", not every key that happens to differ between them
LABEL_PRIORITY = ("scoring", "num_fewshot", "think_rule", "weights_layout", "quantization", "device", "gen_kwargs")


def _telling_keys(configs: list[dict[str, str]]) -> list[str]:
    """The fewest varying keys, in ``LABEL_PRIORITY`` order first, whose values tell ``configs`` apart."""
    varying = varying_keys(configs)
    ordered = [k for k in LABEL_PRIORITY if k in varying] + [k for k in varying if k not in LABEL_PRIORITY]
    chosen: list[str] = []
    for key in ordered:
        chosen.append(key)
        if len({tuple(c.get(k) for k in chosen) for c in configs}) == len({tuple(c.get(k) for k in varying)
                                                                           for c in configs}):
            break
    return [k for k in varying if k in chosen]


def _label(entries: list[JSON]) -> None:
    """``model · scoring=generate``: a model with several rows is told apart by the fewest keys that vary among
    them; a model with one row keeps its plain name (its ``config`` says the rest)."""
    by_model: dict[str, list[JSON]] = {}
    for entry in entries:
        by_model.setdefault(entry["model"], []).append(entry)
    for model, mine in by_model.items():
        keys = _telling_keys([e["config"] for e in mine]) if len(mine) > 1 else []
        for entry in mine:
            label = config_label(entry["config"], keys)
            entry["label"] = f"{model} · {label}" if label else model


def leaderboard(src: ViewSource, filters: Filters = NO_FILTERS, name: str | None = None, metric: str | None = None,
                include_invalid: bool = False) -> list[JSON]:
    """Per suite: the latest result of each model *and configuration*, ranked by the headline result.

    A model measured at two weights layouts (or prompt lengths, devices, ...) is two rows; ``label`` names each
    with the keys that tell them apart (``Qwen3 · weights_layout=float32``); ``config_keys`` are the keys whose
    values differ anywhere on the board.
    """
    by_suite: dict[str, list[JSON]] = {}
    for row in _latest_per_configuration(src, filters, include_invalid):
        by_suite.setdefault(row["suite"], []).append(row)
    boards = []
    for suite, suite_rows in by_suite.items():
        key = (name, metric) if name and metric else _headline(suite_rows)
        entries, direction = _board_rows(suite_rows, key)
        keys = varying_keys([e["config"] for e in entries if e["value"] is not None])
        _label(entries)
        unit = next((e["unit"] for e in entries if e["unit"] is not None), "")
        sign = -1.0 if direction is not False else 1.0  # best first; an unknown direction ranks high first
        ranked = sorted(entries, key=lambda e: (e["value"] is None, sign * (e["value"] or 0.0), e["label"]))
        boards.append({
            "suite": suite, "name": key[0], "metric": key[1], "title": result_label(*key), "unit": unit,
            "higher_is_better": direction,
            "config_keys": keys, "rows": ranked,
        })
    return boards


def trend(src: ViewSource, suite: str, name: str, metric: str, filters: Filters = NO_FILTERS) -> JSON:
    """One series per model and configuration of a result (suite, name, metric) over time, one point per run.

    Each series carries the change points ``mlx_benchmarks.compare`` finds in it (index of the first run at
    the new level, medians before and after, p-value), or ``tested: false`` when it has fewer runs than the
    test needs to reach its alpha (``min_runs``).
    """
    where, params = Filters(suite=suite, model=filters.model).sql("r.")
    rows = fetch(
        src.connect(),
        "SELECT r.model, r.config, r.run_id, min(r.timestamp) AS timestamp, arg_min(r.value, r.result_index) AS value, "
        "any_value(r.unit) AS unit, any_value(r.tags_json) AS tags_json "
        "FROM results r "
        f"WHERE {where} AND NOT coalesce(r.skipped, false) AND r.name = ? AND r.metric = ? "
        "GROUP BY r.model, r.config, r.run_id ORDER BY r.model, r.config, timestamp, r.run_id",
        [*params, name, metric],
    )
    series: dict[tuple[str, str], list[JSON]] = {}
    for row in rows:
        series.setdefault((row["model"], row["config"]), []).append(
            {"timestamp": iso(row["timestamp"]), "value": row["value"], "run_id": row["run_id"]}
        )
    unit = rows[0]["unit"] if rows else ""
    configs = {text: parse_config_text(text) for _, text in series}
    keys = varying_keys(list(configs.values()))
    needed = min_series_length(DEFAULT_ALPHA)
    out = []
    for (model, text), points in series.items():
        tested = needed is not None and len(points) >= needed
        splits = detect_change_points([p["value"] for p in points]) if tested else []
        changes = [
            {"index": s.index, "run_id": points[s.index]["run_id"], "timestamp": points[s.index]["timestamp"],
             "before": s.before, "after": s.after, "p_value": s.p_value}
            for s in splits
        ]
        out.append({"model": model, "config": configs[text], "points": points, "change_points": changes,
                    "tested": tested, "min_runs": needed})
    _label(out)
    return {
        "suite": suite, "name": name, "metric": metric, "title": result_label(name, metric), "unit": unit,
        "config_keys": keys,
        "higher_is_better": higher_is_better(unit, _tags(rows[0]["tags_json"])) if rows else None, "series": out,
    }


def pivot(src: ViewSource, suite: str, metric: str | None = None, filters: Filters = NO_FILTERS) -> JSON:
    """Models × tasks of a suite: one row per model and setup, one column per task (result name).

    A row is a model under one configuration less the keys that name the task (``TASK_KEYS``): a
    log-likelihood and a generative run of the same model are two rows (``label`` names what tells them apart),
    and an imported lm-eval model sits among the native ones. Each cell is the newest result of its row's setup.
    A column shows one metric: ``metric`` when given, else the task's own headline (the metric most rows report
    for it, earliest in their results on a tie); ``metrics`` lists it per column.
    """
    rows = [row for row in _latest_per_configuration(src, Filters(suite=suite, model=filters.model))
            if metric is None or row["metric"] == metric]
    per_task: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        per_task.setdefault(row["name"], {}).setdefault(row["metric"], []).append(row["result_index"])
    chosen_metric = {name: min(found, key=lambda m: (-len(found[m]), sum(found[m]) / len(found[m]), m))
                     for name, found in per_task.items()}
    order = sorted(per_task, key=lambda n: min(min(v) for v in per_task[n].values()))
    shown_rows = [row for row in rows if chosen_metric[row["name"]] == row["metric"]]
    # a key with one value per column is the task's (tok_per_sec_64's prompt_tokens): it never splits a row
    per_column: dict[tuple[str, str], set[str | None]] = {}
    for row in shown_rows:
        for key in {*row["config"], *(k for r in shown_rows for k in r["config"])}:
            per_column.setdefault((row["name"], key), set()).add(row["config"].get(key))
    decided = {key for (_, key) in per_column} - {key for (_, key), values in per_column.items() if len(values) > 1}
    table: dict[tuple[str, str], JSON] = {}
    unit = ""
    for row in shown_rows:  # newest first per (model, task, configuration)
        setup = {k: v for k, v in row["config"].items() if k not in TASK_KEYS and k not in decided}
        entry = table.setdefault((row["model"], config_text(setup)), {
            "model": row["model"], "run_id": row["run_id"], "config": setup, "values": [None] * len(order),
            "stderr": [None] * len(order), "run_ids": [None] * len(order)})
        slot = order.index(row["name"])
        if entry["values"][slot] is None:
            entry["values"][slot] = row["value"]
            entry["stderr"][slot] = _stderr(row["tags_json"])
            entry["run_ids"][slot] = row["run_id"]
        unit = unit or row["unit"]
    entries = list(table.values())
    _label(entries)
    entries.sort(key=lambda e: e["label"])
    metrics = [chosen_metric[name] for name in order]
    shown = metric if metric is not None else (metrics[0] if len(set(metrics)) == 1 else None)
    return {"suite": suite, "metric": shown, "metrics": metrics, "unit": unit, "columns": order,
            "titles": [result_label(name, chosen_metric[name]) for name in order],
            "config_keys": varying_keys([e["config"] for e in entries]), "rows": entries}


def _stderr(tags_json: Any) -> float | None:
    text = _tags(tags_json).get("stderr")
    try:
        return float(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def run_list(src: ViewSource, filters: Filters = NO_FILTERS, limit: int = 100, offset: int = 0) -> JSON:
    """Stored runs, newest first, with a total for paging."""
    where, params = filters.sql()
    con = src.connect()
    total = fetch(con, f"SELECT count(*) AS n FROM runs WHERE {where}", params)[0]["n"]
    rows = fetch(
        con,
        "SELECT run_id, timestamp, suite, model, quantization, git_sha, trigger, skipped, n_results, n_errors, "
        f"system_chip AS chip FROM runs WHERE {where} ORDER BY timestamp DESC, run_id DESC LIMIT ? OFFSET ?",
        [*params, max(0, int(limit)), max(0, int(offset))],
    )
    for row in rows:
        row["timestamp"] = iso(row["timestamp"])
    return {"total": total, "offset": offset, "runs": rows}

"""Scoring method, shots, thinking rule and generation settings are configuration in every view (#20).

A log-likelihood ARC-Easy run (acc 0.80) dropped out of the leaderboard once a generative run with the same
--limit came in; the report's reasoning pivot showed only an imported model. Both runs stay, as two rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mlx_benchmarks.compare.config_key import config_sql, config_text, result_config, row_config
from mlx_benchmarks.envelope import Envelope, GenKwargs, Result
from mlx_benchmarks.report.html import report_data
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import Filters, ViewSource, leaderboard, pivot, trend

MODEL = "mlx-community/Qwen3-0.6B-4bit"
LOGLIK = {"scoring": "loglikelihood", "num_fewshot": 0, "n_limit": 20, "dataset": "arc_easy_rc0",
          "dataset_sha256": "ab" * 32, "higher_is_better": "true"}
GENERATE = {"scoring": "generate", "think_rule": "after the last </think>, else the whole reply", "n_limit": 20,
            "dataset": "arc_easy", "dataset_sha256": "cd" * 32, "higher_is_better": "true"}


def put(store: Store, day: int, results: list[Result], gen: GenKwargs | None = None) -> str:
    envelope = Envelope(suite="reasoning", model=MODEL, system={"os": "Linux", "chip": "x86_64", "memory_gb": 8},
                        git_sha="abc1234", timestamp=f"2026-12-0{day}T10:00:00Z", quantization="mlx-4bit", seed=1234,
                        gen_kwargs=gen, results=results)
    return store.put(envelope.validated()).run_id


def loglik_run(store: Store, day: int = 1) -> str:
    # our log-likelihood scorer stores lm-eval's own metric keys, read as accuracy / accuracy_normalized
    return put(store, day, [Result("arc_easy", "acc", 0.80, "ratio").tag(stderr=0.09, **LOGLIK),
                            Result("arc_easy", "acc_norm", 0.78, "ratio").tag(stderr=0.09, **LOGLIK)],
               GenKwargs(max_gen_toks=0, temperature=0.0))


def generative_run(store: Store, day: int = 2, temperature: float = 0.0) -> str:
    return put(store, day, [Result("arc_easy", "accuracy", 0.55, "ratio").tag(stderr=0.11, **GENERATE),
                            Result("gsm8k", "exact_match_strict", 0.40, "ratio").tag(
                                stderr=0.11, **{**GENERATE, "dataset": "gsm8k"})],
               GenKwargs(max_gen_toks=512, temperature=temperature))


def test_a_loglikelihood_and_a_generative_run_stay_on_the_leaderboard_as_two_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    loglik, generative = loglik_run(store), generative_run(store)
    board = next(b for b in leaderboard(ViewSource(store), Filters(suite="reasoning")))
    assert (board["name"], board["metric"], board["title"]) == ("arc_easy", "accuracy", "arc_easy accuracy")
    rows = {r["run_id"]: r for r in board["rows"]}
    assert set(rows) == {loglik, generative}
    assert rows[loglik]["value"] == pytest.approx(0.80) and rows[generative]["value"] == pytest.approx(0.55)
    assert rows[loglik]["config"]["scoring"] == "loglikelihood" and rows[loglik]["config"]["num_fewshot"] == "0"
    assert "gen_kwargs" not in rows[loglik]["config"]  # nothing is generated when choices are ranked
    assert rows[generative]["config"]["gen_kwargs"] == '{"max_gen_toks": 512, "temperature": 0.0}'
    assert {"scoring", "num_fewshot", "think_rule", "gen_kwargs"} <= set(board["config_keys"])
    assert "scoring=loglikelihood" in rows[loglik]["label"] and "scoring=generate" in rows[generative]["label"]
    assert rows[loglik]["stderr"] == pytest.approx(0.09)


def test_the_pivot_has_a_row_per_setup_and_each_task_its_own_metric(tmp_path: Path) -> None:
    store = Store(tmp_path)
    loglik, generative = loglik_run(store), generative_run(store)
    table = pivot(ViewSource(store), "reasoning")
    assert table["columns"] == ["arc_easy", "gsm8k"] and table["metrics"] == ["accuracy", "exact_match_strict"]
    assert table["metric"] is None and table["titles"] == ["arc_easy accuracy", "gsm8k exact match (strict)"]
    by_run = {r["run_id"]: r for r in table["rows"]}
    assert set(by_run) == {loglik, generative}
    assert by_run[loglik]["values"] == [pytest.approx(0.80), None]
    assert by_run[generative]["values"] == [pytest.approx(0.55), pytest.approx(0.40)]
    assert by_run[generative]["stderr"] == [pytest.approx(0.11), pytest.approx(0.11)]
    assert "dataset" not in table["config_keys"]  # the task's own keys never split a row
    # the report carries the same pivot and board
    data = report_data(store, str(tmp_path))
    assert len(data["pivots"][0]["rows"]) == 2 and len(data["leaderboards"][0]["rows"]) == 2


def test_generation_settings_and_thinking_rule_split_series(tmp_path: Path) -> None:
    store = Store(tmp_path)
    cold, warm = generative_run(store, 1, 0.0), generative_run(store, 2, 0.7)
    view = trend(ViewSource(store), "reasoning", "arc_easy", "accuracy")
    assert sorted(s["points"][0]["run_id"] for s in view["series"]) == sorted([cold, warm])
    assert view["config_keys"] == ["gen_kwargs"]
    board = next(b for b in leaderboard(ViewSource(store)))
    assert len(board["rows"]) == 2


def stored_rows(store: Store) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        table = con.sql(f"SELECT *, {config_sql()} AS sql_config FROM read_parquet({str(store.glob('results'))!r}, union_by_name = true)")
        return [dict(zip(table.columns, row, strict=True)) for row in table.fetchall()]


def test_python_and_sql_agree_on_the_new_keys(tmp_path: Path) -> None:
    store = Store(tmp_path)
    loglik_run(store)
    generative_run(store)
    rows = stored_rows(store)
    assert len(rows) == 4
    for row in rows:
        assert row["sql_config"] == config_text(row_config(row))
        envelope = json.loads(json.dumps(store.envelope(row["run_id"])))
        result = envelope["results"][row["result_index"]]
        assert config_text(result_config(result, envelope)) == row["sql_config"]


def test_an_imported_lm_eval_model_sits_among_the_native_runs_in_the_pivot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.compare.test_import_pairing import ARC_EASY, imported

    store = Store(tmp_path)
    loglik, generative = loglik_run(store), generative_run(store)
    lm_eval = imported(ARC_EASY, tmp_path, capsys)
    table = pivot(ViewSource(store), "reasoning")
    runs = {r["run_id"] for r in table["rows"]}
    assert {loglik, generative, lm_eval} <= runs  # the report showed only the imported model
    assert table["columns"][0] == "arc_easy" and table["metrics"][0] == "accuracy"


def test_trend_series_split_by_scoring(tmp_path: Path) -> None:
    from mlx_benchmarks.compare.trend import load_series

    store = Store(tmp_path)
    for day in (1, 2, 3):
        loglik_run(store, day)
    for day in (4, 5):
        generative_run(store, day)
    found = [s for s in load_series(store) if (s.name, s.metric) == ("arc_easy", "accuracy")]
    assert sorted(len(s.run_ids) for s in found) == [2, 3]  # one series per scoring method

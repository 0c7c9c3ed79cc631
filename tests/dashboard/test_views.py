"""The shared read-side views, checked against what the store builder put in."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_benchmarks.errors import StoreError
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import (
    Filters,
    ViewSource,
    catalog,
    compare,
    leaderboard,
    pivot,
    run_detail,
    run_list,
    sample_page,
    trend,
)
from tests.dashboard.store_builder import (
    MODELS,
    SYSTEM,
    TASKS,
    XSS_IMG,
    XSS_MODEL,
    XSS_SCRIPT,
    BuiltStore,
    build_store,
)


def _board(boards: list[dict], suite: str) -> dict:
    return next(b for b in boards if b["suite"] == suite)


def test_leaderboard_ranks_each_models_latest_run(built: BuiltStore) -> None:
    board = _board(leaderboard(ViewSource(Store(built.root))), "throughput")
    assert (board["name"], board["metric"], board["unit"]) == ("decode_tps", "throughput", "tok/s")
    expected = sorted(MODELS, key=lambda m: -built.latest(m, "throughput").value("decode_tps", "throughput"))
    assert [row["model"] for row in board["rows"]] == expected
    for row in board["rows"]:
        latest = built.latest(row["model"], "throughput")
        assert row["run_id"] == latest.run_id
        assert row["value"] == pytest.approx(latest.value("decode_tps", "throughput"))
        assert len(row["results"]) == len(latest.envelope["results"])


def test_leaderboard_lower_is_better_and_filters(built: BuiltStore) -> None:
    source = ViewSource(Store(built.root))
    board = _board(leaderboard(source, Filters(suite="throughput"), "ttft_p50", "latency"), "throughput")
    values = [row["value"] for row in board["rows"]]
    assert board["higher_is_better"] is False and values == sorted(values)
    only = leaderboard(source, Filters(model="qwen3"))
    assert {row["model"] for b in only for row in b["rows"]} == {MODELS[0]}
    assert [b["suite"] for b in leaderboard(source, Filters(suite="reasoning"))] == ["reasoning"]


def test_skipped_run_never_leads_the_leaderboard(tmp_path: Path) -> None:
    built = build_store(tmp_path, days=2)
    store = Store(built.root)
    newest = built.latest(MODELS[1], "throughput").envelope
    skipped = {**newest, "timestamp": "2027-01-01T00:00:00Z", "results": [], "skipped": True, "errors": ["server down"]}
    store.put(skipped)
    row = next(r for r in _board(leaderboard(ViewSource(store)), "throughput")["rows"] if r["model"] == MODELS[1])
    assert row["run_id"] == built.latest(MODELS[1], "throughput").run_id


def test_trend_has_one_point_per_run_in_time_order(built: BuiltStore) -> None:
    result = trend(ViewSource(Store(built.root)), "reasoning", "gsm8k", "accuracy")
    assert {s["model"] for s in result["series"]} == set(MODELS)
    for series in result["series"]:
        runs = built.series(series["model"], "reasoning")
        assert [p["run_id"] for p in series["points"]] == [r.run_id for r in runs]
        assert [p["value"] for p in series["points"]] == pytest.approx([r.value("gsm8k", "accuracy") for r in runs])


def test_pivot_is_models_by_tasks_of_the_latest_runs(built: BuiltStore) -> None:
    table = pivot(ViewSource(Store(built.root)), "reasoning")
    assert table["metric"] == "accuracy" and table["columns"] == list(TASKS)
    assert {row["model"] for row in table["rows"]} == set(MODELS)
    for row in table["rows"]:
        latest = built.latest(row["model"], "reasoning")
        assert row["values"] == pytest.approx([latest.value(task, "accuracy") for task in TASKS])


def test_catalog_and_run_list(built: BuiltStore) -> None:
    source = ViewSource(Store(built.root))
    cat = catalog(source)
    assert cat["n_runs"] == len(built.runs) and sorted(cat["models"]) == sorted(MODELS)
    assert {s["suite"] for s in cat["suites"]} == {"throughput", "reasoning"}
    listed = run_list(source, Filters(suite="reasoning"), limit=5, offset=2)
    reasoning = sorted((r for r in built.runs if r.suite == "reasoning"), key=lambda r: r.envelope["timestamp"], reverse=True)
    assert listed["total"] == len(reasoning)
    assert [r["run_id"] for r in listed["runs"]] == [r.run_id for r in reasoning[2:7]]


def test_run_detail_has_system_memory_errors_and_sample_summary(built: BuiltStore) -> None:
    run = built.latest(XSS_MODEL, "reasoning")
    detail = run_detail(Store(built.root), run.run_id[:40])
    assert detail["run_id"] == run.run_id
    assert detail["system"] == SYSTEM
    assert [m["phase"] for m in detail["memory"]] == [m["phase"] for m in run.envelope["memory_snapshots"]]
    assert detail["errors"] == run.envelope["errors"] and any(XSS_SCRIPT in e for e in detail["errors"])
    assert detail["samples"]["total"] == len(run.samples)
    assert {t["task"]: t["n"] for t in detail["samples"]["tasks"]} == {t: sum(s["task"] == t for s in run.samples) for t in TASKS}


def test_sample_page_filters_and_pages(built: BuiltStore) -> None:
    run = built.latest(XSS_MODEL, "reasoning")
    store = Store(built.root)
    errors = sample_page(store, run.run_id, status="error")
    assert errors["matched"] == sum(1 for s in run.samples if s["error"]) > 0
    assert all(s["error"] for s in errors["samples"])
    wrong = sample_page(store, run.run_id, status="incorrect", task="mmlu")
    assert wrong["matched"] == sum(1 for s in run.samples if s["task"] == "mmlu" and s["score"] == 0)
    found = sample_page(store, run.run_id, query="#3:")
    assert found["matched"] == len(TASKS) and all("#3:" in s["prompt"] for s in found["samples"])
    page = sample_page(store, run.run_id, offset=4, limit=5)
    assert [s["key"] for s in page["samples"]] == [s["key"] for s in run.samples[4:9]]
    assert XSS_IMG in page["samples"][0]["response"]  # stored verbatim: escaping is the page's job


def test_compare_shows_both_values_and_a_verdict(built: BuiltStore) -> None:
    a, b = built.series(MODELS[0], "throughput")[0], built.latest(MODELS[0], "throughput")
    data = compare(Store(built.root), a.run_id, b.run_id)
    assert (data["run_a"], data["run_b"]) == (a.run_id, b.run_id)
    assert data["envelope_a"]["model"] == MODELS[0]
    by_name = {row["name"]: row for row in data["rows"]}
    assert by_name["decode_tps"]["a"] == pytest.approx(a.value("decode_tps", "throughput"))
    assert by_name["decode_tps"]["b"] == pytest.approx(b.value("decode_tps", "throughput"))
    assert all(row["verdict"] for row in data["rows"])
    with pytest.raises(StoreError):
        compare(Store(built.root), "run-nope", b.run_id)

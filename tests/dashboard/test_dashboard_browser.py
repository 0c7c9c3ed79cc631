"""Click through every dashboard view in Chromium and check what it shows against the stored runs.

The store holds hostile strings (model name, tags, errors, sample responses); every test also checks that
none of them ran: no dialog, no script error, no element they would have created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlx_benchmarks.dashboard import BackgroundServer
from tests.dashboard.conftest import PageWatch
from tests.dashboard.store_builder import MODELS, SYSTEM, TASKS, XSS_MODEL, XSS_SCRIPT, BuiltStore

pytestmark = pytest.mark.browser
VERDICTS = {"improved", "regressed", "no change", "changed", "no error bars"}


def navigate(watch: PageWatch, action: Callable[[], Any]) -> None:
    """Do ``action`` and wait until the page has drawn the view it leads to."""
    before = watch.page.evaluate("Number(document.body.dataset.renders || 0)")
    action()
    watch.page.wait_for_function(f"Number(document.body.dataset.renders || 0) > {before}", timeout=30_000)


def open_view(watch: PageWatch, server: BackgroundServer, hash_: str) -> None:
    navigate(watch, lambda: watch.page.goto(f"{server.url}/{hash_}"))


def assert_nothing_ran(watch: PageWatch) -> None:
    page = watch.page
    assert watch.dialogs == [] and watch.errors == []
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.scripts.length") == 3  # plotly, render.js, app.js: nothing injected
    assert page.locator(".banner").count() == 0


def number(text: str) -> float:
    return float(text.split()[0])


def test_leaderboard_rows_and_bars(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    open_view(page, server, "#/leaderboard")
    for suite, (name, metric) in (("throughput", ("decode_tps", "throughput")), ("reasoning", ("gsm8k", "accuracy"))):
        board = page.page.locator(f".board[data-suite='{suite}']")
        expected = sorted(MODELS, key=lambda m: (-built.latest(m, suite).value(name, metric), m))
        assert board.locator(".lb-row td.model").all_text_contents() == expected
        values = [number(t) for t in board.locator(".lb-row td.value").all_text_contents()]
        assert values == pytest.approx([built.latest(m, suite).value(name, metric) for m in expected], abs=0.01)
        assert board.locator(".leaderboard-chart .bars .point").count() == len(MODELS)
        # plotly shows the hostile model name as text on the axis
        assert XSS_MODEL in board.locator(".leaderboard-chart .ytick text").all_text_contents()
    assert_nothing_ran(page)


def test_trend_chart_has_one_point_per_run(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    open_view(page, server, "#/leaderboard")
    navigate(page, lambda: page.page.click("#nav a[data-view='trend']"))
    navigate(page, lambda: page.page.select_option("select[name='suite']", "throughput"))
    navigate(page, lambda: page.page.select_option("select[name='metric']", "ttft_p50|latency"))
    chart = page.page.locator(".trend-chart")
    assert chart.get_attribute("data-name") == "ttft_p50"
    runs = [r for r in built.runs if r.suite == "throughput"]
    assert chart.locator(".scatterlayer .trace .points path.point").count() == len(runs)
    counts = {
        row.locator("td.model").text_content(): int(row.get_attribute("data-points") or 0)
        for row in page.page.locator(".series-row").all()
    }
    assert counts == {m: len(built.series(m, "throughput")) for m in MODELS}
    assert XSS_MODEL in chart.locator(".legendtext").all_text_contents()
    assert_nothing_ran(page)


def test_pivot_cells(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    open_view(page, server, "#/pivot?suite=reasoning")
    assert page.page.locator(".pivot-table thead th").all_text_contents() == ["model", *TASKS]
    rows = page.page.locator(".pivot-row").all()
    assert len(rows) == len(MODELS)
    for row in rows:
        latest = built.latest(row.locator("td.model").text_content() or "", "reasoning")
        cells = {c.get_attribute("data-task"): float(c.get_attribute("data-value") or "nan") for c in row.locator(".pivot-cell").all()}
        assert cells == pytest.approx({t: latest.value(t, "accuracy") for t in TASKS})
        shown = [number(t) for t in row.locator(".pivot-cell").all_text_contents()]
        assert shown == pytest.approx([latest.value(t, "accuracy") for t in TASKS], abs=1e-4)
    assert_nothing_ran(page)


def test_run_detail_shows_system_errors_and_samples(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    run = built.latest(XSS_MODEL, "reasoning")
    open_view(page, server, "#/leaderboard?suite=reasoning")
    link = page.page.locator(".lb-row", has_text=run.run_id).locator("a.run-link")
    navigate(page, link.click)
    p = page.page
    system = dict(zip(p.locator(".system-table td:nth-child(1)").all_text_contents(), p.locator(".system-table td:nth-child(2)").all_text_contents(), strict=True))
    assert system == {k: str(v) for k, v in SYSTEM.items()}
    assert p.locator("ul.errors li").all_text_contents() == run.envelope["errors"]
    assert p.locator(".memory-table tbody tr td:first-child").all_text_contents() == [m["phase"] for m in run.envelope["memory_snapshots"]]
    assert p.locator(".memory-chart .scatterlayer .trace").count() >= 1
    first = p.locator(".sample-row").first
    assert first.locator(".col-prompt pre").text_content() == run.samples[0]["prompt"]
    assert first.locator(".col-response pre").text_content() == run.samples[0]["response"]  # hostile, shown literally
    assert p.locator(".sample-row").count() == min(20, len(run.samples))
    navigate(page, lambda: p.select_option("select[name='status']", "error"))
    errors = [s for s in run.samples if s["error"]]
    assert p.locator(".sample-row").count() == len(errors)
    assert p.locator(".sample-row .col-error pre").all_text_contents() == [s["error"] for s in errors]
    assert all(XSS_SCRIPT in e for e in p.locator(".sample-row .col-error pre").all_text_contents())
    assert_nothing_ran(page)


def test_compare_two_runs_from_the_runs_page(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    a, b = built.series(MODELS[1], "reasoning")[0], built.latest(MODELS[1], "reasoning")
    open_view(page, server, "#/runs?suite=reasoning")
    p = page.page
    for run in (a, b):
        p.locator(f"tr.run-row[data-run='{run.run_id}'] input[type='checkbox']").check()
    navigate(page, lambda: p.click("text=Compare the two selected runs"))
    rows = p.locator(".compare-row").all()
    assert {r.get_attribute("data-name") for r in rows} == set(TASKS)
    for row in rows:
        task = row.get_attribute("data-name") or ""
        assert number(row.locator(".value-a").text_content() or "") == pytest.approx(a.value(task, "accuracy"), abs=1e-4)
        assert number(row.locator(".value-b").text_content() or "") == pytest.approx(b.value(task, "accuracy"), abs=1e-4)
        assert row.locator(".verdict").text_content() in VERDICTS
    assert p.locator("a.run-link", has_text=a.run_id).count() == 1
    assert_nothing_ran(page)


def test_unknown_run_shows_an_error_not_a_crash(page: PageWatch, server: BackgroundServer) -> None:
    open_view(page, server, "#/run/run-does-not-exist")
    assert "no stored run matches" in (page.page.locator(".banner").text_content() or "")
    assert page.dialogs == [] and page.errors == []


def test_pages_work_under_the_content_security_policy(strict_page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    p = strict_page.page
    for hash_, selector, count in (
        ("#/leaderboard?suite=throughput", ".leaderboard-chart .bars .point", len(MODELS)),
        ("#/trend?suite=reasoning&key=mmlu%7Caccuracy", ".trend-chart .scatterlayer path.point", sum(r.suite == "reasoning" for r in built.runs)),
    ):
        p.goto(f"{server.url}/{hash_}")
        p.wait_for_selector("body[data-ready='true'] main .card")
        assert p.locator(selector).count() == count
    assert strict_page.dialogs == [] and strict_page.errors == []

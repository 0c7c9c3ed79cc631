"""The static HTML report opened from disk in Chromium: charts render and nothing leaves the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from tests.dashboard.conftest import PageWatch
from tests.dashboard.store_builder import MODELS, XSS_IMG, XSS_MODEL, BuiltStore

pytestmark = pytest.mark.browser


def test_report_renders_offline(browser: Any, built: BuiltStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--store", str(built.root), "--html", str(out)]) == 0
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # the report's own CSP stays on
    attempted: list[str] = []

    def only_the_file(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_file)
    watch = PageWatch(context.new_page())
    watch.page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    try:
        p = watch.page
        p.goto(out.as_uri())
        p.wait_for_selector("body[data-rendered='true']")
        assert attempted == []
        assert p.locator(".leaderboard-chart").count() == 2
        for chart in p.locator(".leaderboard-chart").all():
            assert chart.locator("svg rect.bar").count() == len(MODELS)
            assert XSS_MODEL in chart.locator("text.ytick").all_text_contents()
        mmlu = p.locator(".trend-chart[data-name='mmlu']")
        assert mmlu.locator("circle.point").count() == sum(r.suite == "reasoning" for r in built.runs)
        cells = p.locator(".pivot[data-suite='reasoning'] .pivot-row", has_text=MODELS[0]).locator(".pivot-cell").all()
        latest = built.latest(MODELS[0], "reasoning")
        assert [float(c.get_attribute("data-value") or "nan") for c in cells] == pytest.approx(
            [r["value"] for r in latest.envelope["results"]]
        )
        assert p.locator(".peak-memory-chart rect.bar").count() == 2 * len(MODELS)
        assert p.locator("ul.errors li", has_text=XSS_IMG).count() >= 1  # shown as text
        assert p.evaluate("document.querySelectorAll('img, iframe').length") == 0
        assert watch.dialogs == [] and watch.errors == []
    finally:
        context.close()

"""The 100-run report opened in Chromium at 1280 px: one compact small-multiples figure, the sweep chart, no overflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.reader_store import RATES, ReaderStore, write_hundred_report


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReaderStore, Path]:
    return write_hundred_report(tmp_path_factory.mktemp("hundred"))


@pytest.mark.browser
def test_the_report_reads_well_at_1280(browser: Any, hundred: tuple[ReaderStore, Path], tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(hundred[1].as_uri())
        page.wait_for_selector("body[data-rendered='true']")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
        trends = page.locator("#trends")
        charts = trends.locator(".small-multiples .trend-chart")
        assert charts.count() >= 2
        # small multiples: several charts side by side in one compact figure
        tops = {round(c.bounding_box()["y"]) for c in charts.all()}
        assert len(tops) < charts.count()
        assert trends.bounding_box()["height"] < 1200
        decode = trends.locator(".trend-chart[data-name='decode_tps']")
        assert decode.locator("circle.point").count() == 4 * 3
        sweep = page.locator("#sweeps .sweep-achieved")
        assert sweep.locator("circle.point").count() == len(RATES)
        assert page.locator("#sweeps .sweep-latency polyline").count() == 4
        trends.screenshot(path=str(tmp_path / "trends.png"))
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert errors == []
    finally:
        context.close()

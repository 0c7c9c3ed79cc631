"""The dashboard as a reader meets it at 1280 px, in Chromium: wrapped samples, integers, the pp x tg chart, the
sweep chart, folded tags, and a runs filter that does not eat the next click. Screenshots go to a tmp folder;
the assertions are layout facts measured in the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlx_benchmarks.dashboard import BackgroundServer, make_app
from mlx_benchmarks.store import Store
from tests.dashboard.conftest import PageWatch
from tests.dashboard.reader_store import (
    CAPACITY,
    GENS,
    PROMPTS,
    RATES,
    ReaderStore,
    build_reader_store,
    decode_tps,
)
from tests.dashboard.test_dashboard_browser import navigate, open_view

pytestmark = pytest.mark.browser
WIDTH = 1280


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> ReaderStore:
    return build_reader_store(tmp_path_factory.mktemp("reader-store"))


@pytest.fixture(scope="module")
def reader_server(reader: ReaderStore) -> Iterator[BackgroundServer]:
    with BackgroundServer(make_app(Store(reader.root))) as running:
        yield running


def assert_fits(watch: PageWatch, shot: Path) -> None:
    """No horizontal scrolling of the page at 1280 px; a screenshot kept for a person to look at."""
    page = watch.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH
    assert page.evaluate("document.querySelector('main').getBoundingClientRect().right") <= WIDTH
    # a card scrolls sideways rather than the page: no chart may need that (a legend cut off at the card's edge)
    spill = page.evaluate("""[...document.querySelectorAll('.card .chart .main-svg, .card .chart svg.svgplot')]
        .filter((svg) => svg.getBoundingClientRect().right > svg.closest('.card').getBoundingClientRect().right + 1).length""")
    assert spill == 0
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert watch.errors == [] and watch.dialogs == []


def test_sample_viewer_wraps_and_shows_integers(page: PageWatch, reader_server: BackgroundServer, reader: ReaderStore,
                                                tmp_path: Path) -> None:
    open_view(page, reader_server, f"#/run/{reader.sample_run}")
    p = page.page
    p.wait_for_selector("table.samples-table tr.sample-row")
    table_width = p.evaluate("document.querySelector('table.samples-table').getBoundingClientRect().width")
    card_width = p.evaluate("document.querySelector('table.samples-table').closest('.card').clientWidth")
    assert table_width <= card_width  # the table fits its card: no 2,663 px table
    prompt = p.locator("tr.sample-row[data-key='gsm8k:1'] td.col-prompt")
    assert prompt.bounding_box()["width"] >= 200  # not squeezed to a few characters
    pre = prompt.locator("pre")
    # wrapped: no sideways scrolling inside the cell, and the text runs over several lines
    assert pre.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert pre.evaluate("e => e.getBoundingClientRect().height") > 3 * 16
    row = p.locator("tr.sample-row[data-key='gsm8k:1']")
    assert row.locator("td.col-score").inner_text().strip() == "0"
    assert row.locator("td.col-prompt_tokens").inner_text().strip() == "301"
    assert p.locator("tr.sample-row[data-key='gsm8k:0'] td.col-score").inner_text().strip() == "1"
    assert "0.0000" not in p.locator("table.samples-table").inner_text()
    assert_fits(page, tmp_path / "samples.png")


def test_throughput_run_shows_the_pp_tg_chart_and_folds_tags(page: PageWatch, reader_server: BackgroundServer,
                                                             reader: ReaderStore, tmp_path: Path) -> None:
    open_view(page, reader_server, f"#/run/{reader.grid_run}")
    p = page.page
    decode = p.locator(".pp-tg-decode")
    assert decode.locator(".scatterlayer .trace").count() == len(GENS)
    drawn = decode.evaluate("e => e.data.map((t) => [t.name, t.x, t.y])")
    assert drawn == [[f"tg {g}", list(PROMPTS), [pytest.approx(decode_tps(pp, g)) for pp in PROMPTS]] for g in GENS]
    assert p.locator(".pp-tg-ttft .scatterlayer .trace").count() == len(GENS)
    assert p.locator(".latency-distribution .boxlayer .trace").count() == len(GENS) * len(PROMPTS)
    # the chart sits above the results and is wide enough to read
    box = decode.bounding_box()
    assert box is not None and box["width"] >= 400 and box["height"] >= 250
    assert box["y"] < p.locator("table.results-table").bounding_box()["y"]
    # every result's 29 tags are behind a closed toggle, not a wall of text
    assert p.locator("details.tags").count() == len(GENS) * len(PROMPTS)
    assert p.locator("details.tags[open]").count() == 0
    assert not p.get_by_text("extra_tag_3 = 3").first.is_visible()
    row_height = p.locator("tr.result-row").first.bounding_box()["height"]
    assert row_height < 60
    p.locator("details.tags summary").first.click()
    assert p.get_by_text("extra_tag_3 = 3").first.is_visible()
    assert_fits(page, tmp_path / "throughput.png")


def test_sweep_run_shows_achieved_vs_offered(page: PageWatch, reader_server: BackgroundServer, reader: ReaderStore,
                                             tmp_path: Path) -> None:
    open_view(page, reader_server, f"#/run/{reader.sweep_run}")
    p = page.page
    achieved = p.locator(".sweep-achieved").evaluate("e => [e.data[0].x, e.data[0].y]")
    assert achieved == [list(RATES), [min(r, CAPACITY) for r in RATES]]
    names = p.locator(".sweep-latency").evaluate("e => e.data.map((t) => t.name)")
    assert names == ["ttft p50", "ttft p99", "e2e p50", "e2e p99"]
    assert p.locator(".pp-tg-chart").count() == 0  # a sweep has no pp x tg grid
    assert_fits(page, tmp_path / "sweep.png")


def test_typing_in_the_filter_then_one_click_checks_the_box(page: PageWatch, reader_server: BackgroundServer,
                                                            reader: ReaderStore, tmp_path: Path) -> None:
    open_view(page, reader_server, "#/runs")
    p = page.page
    box = f"tr.run-row[data-run='{reader.grid_run}'] input[type='checkbox']"
    renders = p.evaluate("Number(document.body.dataset.renders)")
    p.locator("input[name='model']").press_sequentially("qwen3")
    p.locator(box).click()  # straight after typing: the filter has not been applied yet
    p.wait_for_function(f"Number(document.body.dataset.renders) > {renders} && document.body.dataset.ready === 'true'")
    assert "model=qwen3" in p.evaluate("location.hash")
    assert p.locator(box).is_checked()  # the one click counted, across the filter's re-draw
    assert p.locator("input[name='model']").input_value() == "qwen3"
    p.locator("input[name='model']").press("End")
    navigate(page, lambda: p.locator("input[name='model']").press_sequentially("-8b"))
    assert p.locator("input[name='model']").input_value() == "qwen3-8b"
    assert p.locator(box).is_checked()
    p.locator(f"tr.run-row[data-run='{reader.sweep_run}'] input[type='checkbox']").click()
    assert p.get_by_role("button", name="Compare the two selected runs").is_enabled()
    assert_fits(page, tmp_path / "runs.png")

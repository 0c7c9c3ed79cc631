"""The HTML report as a reader sees it, in Chromium at 1280 and 390 px (#20), against golden screenshots.

Each finding of the issue has a check of its own (readable labels, axes from 0, an all-zero chart from 0 to 1,
date ticks once each, a memory chart per scale, stderr columns, a section behind every link, model names not
broken mid-word); the screenshots catch what those miss. They are compared with a tolerance (the share of
pixels that differ by more than a little), so font antialiasing does not flake; MLX_BENCH_REGEN_GOLDEN=1
rewrites them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.envelope import Envelope, GenKwargs, MemorySnapshot, Result
from mlx_benchmarks.report.html import render_report, report_data
from mlx_benchmarks.store import Store
from tests.dashboard.conftest import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.browser
GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = "MLX_BENCH_REGEN_GOLDEN"
SHOT_HEIGHT = 2600  # the leaderboards, trends and pivots: the top of the page, where the findings were
MAX_DIFFERENT = 0.01  # share of pixels allowed to differ (antialiasing, font hinting)
CHANNEL_SLACK = 48  # a pixel differs when a channel moves by more than this
MODELS = ("mlx-community/Qwen3-0.6B-4bit", "mlx-community/SmolLM2-135M-Instruct-8bit")
SYSTEM = {"os": "Linux", "chip": "x86_64", "memory_gb": 8}


def _put(store: Store, model: str, suite: str, when: str, results: list[Result], **extra: Any) -> None:
    envelope = Envelope(suite=suite, model=model, system=SYSTEM, git_sha="abc1234", timestamp=when,
                        quantization="mlx-4bit", seed=1234, results=results, **extra)
    store.put(envelope.validated())


def build(root: Path) -> Store:
    """Three throughput runs of one afternoon per model, a log-likelihood and a generative ARC-Easy run, and a
    tool-calling suite where every model scored 0."""
    store = Store(root)
    for i, model in enumerate(MODELS):
        for hour in (12, 13, 14):
            memory = [MemorySnapshot("before", 0.2, free_gb=20.0), MemorySnapshot("loaded", 0.6 + i, free_gb=19.4 - i),
                      MemorySnapshot("peak", 0.7 + i, free_gb=19.3 - i), MemorySnapshot("after", 0.6 + i, free_gb=19.4 - i)]
            cells = [Result(f"tok_per_sec_{p}", "throughput", 90.0 - 30 * i + hour - p / 64, "tok/s").tag(
                prompt_tokens_requested=p, gen_tokens_requested=32) for p in (64, 512)]
            _put(store, model, "throughput", f"2026-12-01T{hour}:0{i}:00Z", cells, memory_snapshots=memory,
                 gen_kwargs=GenKwargs(max_gen_toks=32, temperature=0.0))
        common = {"n_limit": 20, "higher_is_better": "true"}
        _put(store, model, "reasoning", f"2026-12-01T15:0{i}:00Z", [
            Result("arc_easy", "acc", 0.80 - 0.1 * i, "ratio").tag(stderr=0.09, scoring="loglikelihood", num_fewshot=0,
                                                                   dataset="arc_easy_rc0", **common)])
        _put(store, model, "reasoning", f"2026-12-01T16:0{i}:00Z", [
            Result("arc_easy", "accuracy", 0.55 - 0.1 * i, "ratio").tag(stderr=0.11, scoring="generate",
                                                                        dataset="arc_easy", **common)],
             gen_kwargs=GenKwargs(max_gen_toks=256, temperature=0.0))
        _put(store, model, "tool-calling", f"2026-12-01T17:0{i}:00Z",
             [Result("overall", "accuracy", 0.0, "ratio").tag(stderr=0.0, n_samples=5)])
    return store


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("screens")
    data = report_data(build(root / "store"), "STORE")
    data["generated"] = "2026-12-02T00:00:00+00:00"  # the one moving part of the page
    out = root / "report.html"
    out.write_text(render_report(data, "mlx-bench report"), encoding="utf-8")
    return out


def opened(browser: Any, report: Path, width: int) -> tuple[Any, Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(report.as_uri())
    page.wait_for_selector("body[data-rendered='true']")
    for box in page.locator("details.memory").all():
        box.locator("summary").click()  # memory timelines draw when opened
    assert errors == []
    return context, page


def different_share(png: bytes, golden: bytes) -> float:
    from PIL import Image, ImageChops

    now, then = Image.open(io.BytesIO(png)).convert("RGB"), Image.open(io.BytesIO(golden)).convert("RGB")
    if now.size != then.size:
        return 1.0
    diff = ImageChops.difference(now, then).convert("L").point(lambda v: 255 if v > CHANNEL_SLACK else 0)
    return diff.histogram()[255] / (now.size[0] * now.size[1])


@pytest.mark.parametrize("width", [1280, 390])
def test_report_looks_as_it_did(browser: Any, report: Path, width: int) -> None:  # noqa: F811
    context, page = opened(browser, report, width)
    try:
        height = min(page.evaluate("document.documentElement.scrollHeight"), SHOT_HEIGHT)
        png = page.screenshot(full_page=True, type="jpeg", quality=60,  # a tenth of a PNG's size to commit
                              clip={"x": 0, "y": 0, "width": width, "height": height})
    finally:
        context.close()
    path = GOLDEN / f"report-{width}.jpg"
    if os.environ.get(REGENERATE) == "1" or not path.exists():
        path.write_bytes(png)
    share = different_share(png, path.read_bytes())
    assert share <= MAX_DIFFERENT, f"{share:.2%} of pixels differ from {path.name} ({REGENERATE}=1 rewrites it)"


@pytest.mark.parametrize("width", [1280, 390])
def test_what_the_reader_sees(browser: Any, report: Path, width: int) -> None:  # noqa: F811
    context, page = opened(browser, report, width)
    try:
        # every link in the page leads to a section
        for href in page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            assert page.locator(href).count() == 1, href
        # readable names: no stored name in a chart title or a table header
        titles = " ".join(page.locator("svg text.title").all_text_contents() + page.locator("th").all_text_contents())
        assert "tok_per_sec" not in titles and "decode tok/s at 64 prompt tokens" in titles
        assert "ratio" not in " ".join(page.locator(".leaderboard-table td.value").all_text_contents())
        # both scoring methods stay on the board, each with its stderr
        reasoning = page.locator(".board[data-suite='reasoning'] .lb-row")
        assert reasoning.count() == 4
        assert "± stderr" in page.locator(".board[data-suite='reasoning'] th").all_text_contents()
        assert "0.0900" in reasoning.locator("td.stderr").all_text_contents()
        # a model's speed runs are one pivot row: the prompt length is the column's, not the row's
        assert page.locator(".pivot[data-suite='throughput'] .pivot-row").count() == len(MODELS)
        assert page.locator(".board[data-suite='reasoning'] td.model", has_text="scoring=generate").count() == 2
        # an all-zero board is drawn from 0 to 1
        zero = page.locator(".leaderboard-chart[data-suite='tool-calling']")
        ticks = zero.locator("text.xtick").all_text_contents()
        assert ticks[0] == "0" and not any(t.startswith("-") for t in ticks), ticks
        # trend ticks name each date or hour once
        for chart in page.locator(".trend-chart").all():
            labels = chart.locator("text.xtick").all_text_contents()
            assert len(labels) == len(set(labels)), labels
        # value axes start at 0
        for chart in page.locator(".trend-chart, .memory-chart").all():
            values = [float(t.replace("k", "e3")) for t in chart.locator("text.ytick").all_text_contents()]
            assert min(values) == 0, values
        # RSS and free memory do not share an axis
        assert page.locator(".memory-free").count() == len(MODELS)  # the throughput runs recorded free memory
        assert all("free" not in " ".join(c.locator("text").all_text_contents())
                   for c in page.locator(".memory-process").all())
        # a model name breaks after / or -, never mid-word
        assert page.locator("td.model").first.evaluate("e => getComputedStyle(e).wordBreak") != "break-all"
        assert page.locator("td.model wbr").count() > 0
        # nothing but a table's own scroll box is wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


@pytest.fixture(scope="module")
def dashboard(report: Path) -> Any:
    from mlx_benchmarks.dashboard import BackgroundServer, make_app

    with BackgroundServer(make_app(Store(report.parent / "store"))) as running:
        yield running


def dashboard_page(browser: Any, url: str, width: int) -> tuple[Any, Any]:  # noqa: F811
    # CSP off for Playwright's own waiting script (tests/dashboard's strict_page shows the app runs under it)
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    before = 0
    page.goto(url)
    page.wait_for_function(f"Number(document.body.dataset.renders || 0) > {before}", timeout=30_000)
    page.wait_for_timeout(300)  # plotly lays out after its first paint
    assert errors == []
    return context, page


@pytest.mark.parametrize("width", [1280, 390])
def test_dashboard_leaderboard_looks_as_it_did(browser: Any, dashboard: Any, width: int) -> None:  # noqa: F811
    context, page = dashboard_page(browser, f"{dashboard.url}/#/leaderboard?suite=reasoning", width)
    try:
        assert "± stderr" in page.locator(".leaderboard-table th").all_text_contents()
        assert page.locator(".lb-row td.model", has_text="scoring=loglikelihood").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        height = min(page.evaluate("document.documentElement.scrollHeight"), SHOT_HEIGHT)
        shot = page.screenshot(full_page=True, type="jpeg", quality=60,
                               clip={"x": 0, "y": 0, "width": width, "height": height})
    finally:
        context.close()
    path = GOLDEN / f"dashboard-leaderboard-{width}.jpg"
    if os.environ.get(REGENERATE) == "1" or not path.exists():
        path.write_bytes(shot)
    share = different_share(shot, path.read_bytes())
    assert share <= MAX_DIFFERENT, f"{share:.2%} of pixels differ from {path.name} ({REGENERATE}=1 rewrites it)"


def test_dashboard_run_results_have_stderr_and_no_empty_column(browser: Any, dashboard: Any,  # noqa: F811
                                                                report: Path) -> None:
    run_id = next(r for r in Store(report.parent / "store").run_ids() if "-reasoning-" in r)
    context, page = dashboard_page(browser, f"{dashboard.url}/#/run/{run_id}", 1280)
    try:
        headers = page.locator(".results-table th").all_text_contents()
        assert headers == ["result", "value", "± stderr", "unit", "tags"]  # no settings to show: no column
        assert page.locator(".results-table td.stderr").all_text_contents() == ["0.0900"]
        assert page.locator(".results-table td.result-name").all_text_contents() == ["arc_easy accuracy"]  # under its current name
    finally:
        context.close()

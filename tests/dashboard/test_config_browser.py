"""In Chromium: the dashboard shows one labelled row per model and configuration, untested trend series, and the
results compare could not pair, with the reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mlx_benchmarks.dashboard import BackgroundServer
from mlx_benchmarks.envelope import Envelope, Result
from mlx_benchmarks.store import Store
from tests.dashboard.conftest import PageWatch
from tests.dashboard.store_builder import START, BuiltRun, BuiltStore, build_store

pytestmark = pytest.mark.browser
SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def put_layout(root: Path, layout: str, decode: float, day: int) -> BuiltRun:
    when = START + timedelta(days=day, hours=5)
    result = Result("decode_tps", "throughput", decode, "tok/s", raw={"trials": [decode * f for f in (0.98, 1, 1.02)]})
    envelope = Envelope(suite="throughput", model=SMOL, system={"os": "Linux", "chip": "x86_64", "memory_gb": 8},
                        git_sha="abc1234", timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"), quantization="Q4_1",
                        results=[result.tag(concurrency=1, weights_layout=layout)]).validated()
    return BuiltRun(Store(root).put(envelope).run_id, envelope)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltStore:
    """The dashboard's usual store plus SmolLM2 measured at two weights layouts."""
    store = build_store(tmp_path_factory.mktemp("config-store"), days=2)
    store.runs += [put_layout(store.root, "quantized", 31.0, day=3), put_layout(store.root, "float32", 18.0, day=4)]
    return store


def open_view(watch: PageWatch, server: BackgroundServer, hash_: str) -> None:
    before = watch.page.evaluate("Number(document.body.dataset.renders || 0)")
    watch.page.goto(f"{server.url}/{hash_}")
    watch.page.wait_for_function(f"Number(document.body.dataset.renders || 0) > {before}", timeout=30_000)


def test_two_layouts_are_two_labelled_rows(page: PageWatch, server: BackgroundServer) -> None:
    open_view(page, server, "#/leaderboard?suite=throughput")
    labels = page.page.locator(".board[data-suite='throughput'] .lb-row td.model").all_text_contents()
    assert f"{SMOL} · weights_layout=quantized" in labels and f"{SMOL} · weights_layout=float32" in labels
    assert labels.index(f"{SMOL} · weights_layout=quantized") < labels.index(f"{SMOL} · weights_layout=float32")
    assert page.errors == [] and page.dialogs == []


def test_short_trend_series_say_not_tested(page: PageWatch, server: BackgroundServer) -> None:
    open_view(page, server, "#/trend?suite=throughput&key=decode_tps%7Cthroughput")
    rows = page.page.locator(".series-row")
    assert rows.count() == 5  # three models and SmolLM2 twice
    assert {r.get_attribute("data-tested") for r in rows.all()} == {"false"}
    assert "not tested: 1 of 10 runs needed" in page.page.locator(".series-table").inner_text()
    assert "5 of 5 series have fewer runs" in (page.page.locator(".too-short").text_content() or "")


def test_compare_lists_what_it_could_not_pair(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    quantized, float32 = built.runs[-2:]
    open_view(page, server, f"#/compare?a={quantized.run_id}&b={float32.run_id}")
    assert page.page.locator(".compare-row").count() == 0
    reasons = page.page.locator(".not-paired li").all_text_contents()
    assert reasons == ["not paired: decode_tps/throughput: weights_layout quantized vs float32"]

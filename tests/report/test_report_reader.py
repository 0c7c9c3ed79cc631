"""The report for 100 runs: small (no plotly.js bundle), trends only where there is a trend, sweep charts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.report.html import MIN_TREND_POINTS
from tests.dashboard.reader_store import CAPACITY, RATES, ReaderStore, write_hundred_report

MB = 1_000_000


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReaderStore, Path]]:
    yield write_hundred_report(tmp_path_factory.mktemp("hundred"))


def _data(document: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', document, re.S)
    assert match is not None
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


def test_a_hundred_runs_make_a_small_report(hundred: tuple[ReaderStore, Path]) -> None:
    store, out = hundred
    assert store.n_runs == 100
    assert out.stat().st_size < MB  # was 4.9 MB: plotly.js alone is 4.8 MB
    assert _data(out.read_text(encoding="utf-8"))["catalog"]["n_runs"] == 100


def test_trends_only_for_series_of_three_or_more_runs(hundred: tuple[ReaderStore, Path]) -> None:
    data = _data(hundred[1].read_text(encoding="utf-8"))
    assert data["trends"], "the four models with three runs each have a trend"
    for trend in data["trends"]:
        assert all(len(s["points"]) >= MIN_TREND_POINTS for s in trend["series"])
    decode = next(t for t in data["trends"] if t["name"] == "decode_tps")
    # org/model-0..3 have three runs each; the 43 models with two runs and the one-run grid are left out
    assert sorted(s["model"] for s in decode["series"]) == [f"org/model-{i}" for i in range(4)]
    assert not any(t["name"].startswith(("tok_per_sec", "sweep_")) for t in data["trends"])


def test_the_report_carries_the_sweep(hundred: tuple[ReaderStore, Path]) -> None:
    store, out = hundred
    sweeps = _data(out.read_text(encoding="utf-8"))["sweeps"]
    assert [s["run_id"] for s in sweeps] == [store.sweep_run]
    points = sweeps[0]["points"]
    assert [(p["offered"], p["achieved"], p["keeps_up"]) for p in points] == [(r, min(r, CAPACITY), r <= CAPACITY) for r in RATES]
    assert set(points[0]["latency"]) == {"ttft_p50", "ttft_p99", "e2e_p50", "e2e_p99"}

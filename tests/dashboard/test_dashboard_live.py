"""A run stored while the dashboard is open shows up on the next request (its own store: it adds runs)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from mlx_benchmarks.dashboard import BackgroundServer
from tests.dashboard.conftest import PageWatch
from tests.dashboard.store_builder import MODELS, BuiltStore, add_run


def catalog(server: BackgroundServer) -> dict:
    with urllib.request.urlopen(server.url + "/api/catalog", timeout=30) as response:
        loaded: dict = json.loads(response.read())
    return loaded


def test_new_run_appears_on_next_request(server: BackgroundServer, built: BuiltStore) -> None:
    assert catalog(server)["n_runs"] == len(built.runs)
    add_run(built, 1, day=30)
    assert catalog(server)["n_runs"] == len(built.runs)


@pytest.mark.browser
def test_new_run_appears_on_refresh(page: PageWatch, server: BackgroundServer, built: BuiltStore) -> None:
    p = page.page
    p.goto(f"{server.url}/#/leaderboard?suite=throughput")
    p.wait_for_selector("body[data-ready='true'] .lb-row")
    row = p.locator(".lb-row", has_text=MODELS[0])
    assert built.latest(MODELS[0], "throughput").run_id in (row.text_content() or "")
    newer = add_run(built, 0, day=40)
    p.reload()
    p.wait_for_selector("body[data-ready='true'] .lb-row")
    assert newer.run_id in (p.locator(".lb-row", has_text=MODELS[0]).text_content() or "")
    assert page.dialogs == [] and page.errors == []

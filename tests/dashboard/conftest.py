"""Fixtures for the dashboard and report tests: a built store, a served dashboard, one Chromium per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlx_benchmarks.dashboard import BackgroundServer, make_app
from mlx_benchmarks.store import Store
from tests.browser_path import INSTALL_HINT, find_chromium
from tests.dashboard.store_builder import BuiltStore, build_store

# the flags this closed network needs: without the background-networking ones Chromium's connections are refused
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltStore:
    """A fresh store per test module (modules that add runs do not disturb the others)."""
    return build_store(tmp_path_factory.mktemp("dashboard-store"))


@pytest.fixture(scope="module")
def server(built: BuiltStore) -> Iterator[BackgroundServer]:
    """The dashboard on a free loopback port, serving ``built``."""
    with BackgroundServer(make_app(Store(built.root))) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium (the system's, else Playwright's own) driven by Playwright; skipped only when either is absent."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs the playwright Python package")
    with sync_playwright() as playwright:
        chromium = find_chromium(playwright.chromium.executable_path)
        if chromium is None:
            pytest.skip(INSTALL_HINT)
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PageWatch:
    """A page plus everything it did that a test may forbid: dialogs, script errors, outside requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def page(browser: Any) -> Iterator[PageWatch]:
    """A page with the Content-Security-Policy switched off.

    With CSP on, a markup-injection bug would be hidden (the policy blocks the planted script), so these tests
    check the escaping itself; ``strict_page`` keeps CSP on to show the app works under it.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    watch = PageWatch(context.new_page())
    yield watch
    context.close()


@pytest.fixture
def strict_page(browser: Any) -> Iterator[PageWatch]:
    """A page that obeys the server's Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = PageWatch(context.new_page())
    watch.page.on("console", lambda message: watch.errors.append(message.text) if message.type == "error" else None)
    yield watch
    context.close()

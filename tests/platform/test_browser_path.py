"""The browser tests find Chromium where a Mac keeps it, and on Linux where Debian puts it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import browser_path
from tests.platform_emulation import FakeMac


@pytest.fixture
def no_browser_on_path(fake_macos: FakeMac, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An emulated Mac with no browser on PATH and empty application folders under ``tmp_path``."""
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in browser_path.PATH_NAMES
                        else real_which(name, *a, **k))
    folders = (tmp_path / "Applications", tmp_path / "home-Applications")
    for folder in folders:
        folder.mkdir()
    monkeypatch.setattr(browser_path, "APP_FOLDERS", folders)
    monkeypatch.delenv("MLX_BENCH_CHROMIUM", raising=False)
    return tmp_path


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_chromium_app_bundle_before_google_chrome(no_browser_on_path: Path) -> None:
    apps = no_browser_on_path / "Applications"
    chrome = executable(apps / "Google Chrome.app/Contents/MacOS/Google Chrome")
    assert browser_path.find_chromium() == chrome
    chromium = executable(apps / "Chromium.app/Contents/MacOS/Chromium")
    assert browser_path.find_chromium() == chromium


def test_a_users_own_applications_folder(no_browser_on_path: Path) -> None:
    own = executable(no_browser_on_path / "home-Applications/Chromium.app/Contents/MacOS/Chromium")
    assert browser_path.find_chromium() == own


def test_playwrights_own_chromium_when_nothing_is_installed(no_browser_on_path: Path) -> None:
    assert browser_path.find_chromium(str(no_browser_on_path / "not-downloaded")) is None
    downloaded = executable(no_browser_on_path / "ms-playwright/chromium/chrome-mac/Chromium")
    assert browser_path.find_chromium(str(downloaded)) == downloaded


def test_named_browser_wins_and_a_missing_one_is_not_found(no_browser_on_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    named = executable(no_browser_on_path / "my-chrome")
    monkeypatch.setenv("MLX_BENCH_CHROMIUM", str(named))
    assert browser_path.find_chromium() == named
    monkeypatch.setenv("MLX_BENCH_CHROMIUM", str(no_browser_on_path / "gone"))
    assert browser_path.find_chromium() is None


def test_debian_chromium_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/bin/chromium" if name == "chromium" else None)
    monkeypatch.delenv("MLX_BENCH_CHROMIUM", raising=False)
    assert browser_path.find_chromium() == Path("/usr/bin/chromium")

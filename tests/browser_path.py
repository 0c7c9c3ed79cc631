"""Where the browser tests find Chromium: on PATH (Debian's chromium, chromium-browser, Google Chrome), in a
macOS app bundle, or Playwright's own download; ``MLX_BENCH_CHROMIUM`` names one outright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PATH_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
APP_BUNDLES = (
    "Chromium.app/Contents/MacOS/Chromium",
    "Google Chrome.app/Contents/MacOS/Google Chrome",
)
APP_FOLDERS = (Path("/Applications"), Path.home() / "Applications")
INSTALL_HINT = ("needs Chromium: apt-get install chromium, brew install --cask chromium, "
                "or .venv/bin/playwright install chromium")


def system_chromium() -> Path | None:
    """A Chromium or Chrome installed on this machine, without starting Playwright."""
    named = os.environ.get("MLX_BENCH_CHROMIUM", "").strip()
    if named:
        return Path(named) if Path(named).is_file() else None
    for name in PATH_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    for folder in APP_FOLDERS:
        for bundle in APP_BUNDLES:
            if (folder / bundle).is_file():
                return folder / bundle
    return None


def find_chromium(playwright_executable: str | None = None) -> Path | None:
    """The system's Chromium, else Playwright's (``playwright.chromium.executable_path``) if downloaded."""
    found = system_chromium()
    if found is not None:
        return found
    if playwright_executable and Path(playwright_executable).is_file():
        return Path(playwright_executable)
    return None

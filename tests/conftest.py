"""Test-wide settings: no test writes into the user's store. Tests share the local cache that
``make setup`` fills (converted model, extracted datasets): its entries are checksummed and verified.

macOS emulation on Linux: the ``fake_macos`` fixture / ``emulate_macos()`` in tests/platform_emulation.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mlx_benchmarks.paths import cache_dir
from mlx_benchmarks.targets.mlx_blas import preload_fast_blas
from tests.platform_emulation import fake_macos  # noqa: F401  (fixture, for every test directory)

# before any test imports mlx.core: MLX's Linux CPU wheel otherwise binds its slow reference BLAS
preload_fast_blas()

REPO = Path(__file__).resolve().parent.parent
# pin the cache before the store is redirected per test (the cache defaults to a folder of the store)
os.environ.setdefault("MLX_BENCH_CACHE", str(cache_dir()))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the default store at a temporary directory for every test."""
    if "MLX_BENCH_STORE" not in os.environ or os.environ["MLX_BENCH_STORE"].startswith(str(tmp_path_factory.getbasetemp())):
        monkeypatch.setenv("MLX_BENCH_STORE", str(tmp_path_factory.mktemp("store")))


@pytest.fixture
def repo_root() -> Path:
    return REPO


# platform markers: a test of an OS's own facilities skips elsewhere, saying why (pyproject's markers)
_PLATFORM_MARKERS = {"linux_only": ("linux", "Linux"), "macos_only": ("darwin", "macOS")}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, (prefix, label) in _PLATFORM_MARKERS.items():
        marker = item.get_closest_marker(name)
        if marker is not None and not sys.platform.startswith(prefix):
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            pytest.skip(f"{label} only" + (f": {reason}" if reason else ""))

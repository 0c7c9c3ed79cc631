"""A built store for the report tests (the builder lives with the dashboard tests)."""

from __future__ import annotations

import pytest

from tests.dashboard.store_builder import BuiltStore, build_store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltStore:
    return build_store(tmp_path_factory.mktemp("report-store"))

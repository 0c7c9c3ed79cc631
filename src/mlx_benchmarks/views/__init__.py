"""Shared read-side views (leaderboard, trend, pivot, run detail, compare) for the HTML report and the dashboard.

The names below load on first use, so a module of this package that needs no DuckDB (``run_summary``, which
``mlx-bench datasets list`` and ``run`` use) does not import it through this file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_benchmarks.views.detail import compare, run_detail, sample_page
    from mlx_benchmarks.views.queries import NO_FILTERS, Filters, catalog, leaderboard, pivot, run_list, trend
    from mlx_benchmarks.views.source import ViewSource

_MODULE_OF = {
    "compare": "detail", "run_detail": "detail", "sample_page": "detail",
    "NO_FILTERS": "queries", "Filters": "queries", "catalog": "queries", "leaderboard": "queries",
    "pivot": "queries", "run_list": "queries", "trend": "queries",
    "ViewSource": "source",
}

__all__ = [
    "NO_FILTERS",
    "Filters",
    "ViewSource",
    "catalog",
    "compare",
    "leaderboard",
    "pivot",
    "run_detail",
    "run_list",
    "sample_page",
    "trend",
]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"mlx_benchmarks.views.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

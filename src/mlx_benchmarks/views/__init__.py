"""Shared read-side views (leaderboard, trend, pivot, run detail, compare) for the HTML report and the dashboard."""

from __future__ import annotations

from mlx_benchmarks.views.detail import compare, run_detail, sample_page
from mlx_benchmarks.views.queries import NO_FILTERS, Filters, catalog, leaderboard, pivot, run_list, trend
from mlx_benchmarks.views.source import ViewSource

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

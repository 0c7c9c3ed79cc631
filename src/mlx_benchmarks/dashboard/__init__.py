"""``mlx-bench dashboard``: a local web app over the results store (JSON API + static front-end)."""

from __future__ import annotations

from mlx_benchmarks.dashboard.server import BackgroundServer, make_app

__all__ = ["BackgroundServer", "make_app"]

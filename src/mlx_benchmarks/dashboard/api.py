"""The dashboard's JSON API: thin handlers over ``mlx_benchmarks.views``.

Every handler reads the store afresh (the shard index refreshes on each request), so a run stored while the
dashboard is open appears on the next request. View functions are blocking DuckDB work: they run in a thread
so one slow query does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.redact import redact_text
from mlx_benchmarks.report.html import json_safe
from mlx_benchmarks.report.run_charts import sweep_points, throughput_cells
from mlx_benchmarks.views import (
    Filters,
    ViewSource,
    catalog,
    compare,
    leaderboard,
    pivot,
    run_detail,
    run_list,
    sample_page,
    trend,
)

STATE = web.AppKey("state", dict)


def json_response(data: Any, status: int = 200) -> web.Response:
    # redacted on the way out too: a store written by an older version or another tool may hold a credential
    body = redact_text(json.dumps(json_safe(data), default=str, allow_nan=False))
    return web.Response(text=body, status=status, content_type="application/json", headers={"Cache-Control": "no-store"})


def _int(request: web.Request, name: str, default: int, low: int = 0, high: int = 100_000) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {raw!r}") from None
    return max(low, min(high, value))


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise UsageError(f"missing query parameter {name!r}")
    return value


def _filters(request: web.Request) -> Filters:
    return Filters(suite=request.query.get("suite") or None, model=request.query.get("model") or None)


def _source(request: web.Request) -> ViewSource:
    source: ViewSource = request.app[STATE]["source"]
    return source


def _store(request: web.Request) -> Any:
    return request.app[STATE]["store"]


async def _blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> web.Response:
    return json_response(await asyncio.to_thread(fn, *args, **kwargs))


async def get_catalog(request: web.Request) -> web.Response:
    return await _blocking(catalog, _source(request), _filters(request))


async def get_leaderboard(request: web.Request) -> web.Response:
    name, metric = request.query.get("name") or None, request.query.get("metric") or None
    return await _blocking(leaderboard, _source(request), _filters(request), name, metric)


async def get_trend(request: web.Request) -> web.Response:
    suite, name, metric = _required(request, "suite"), _required(request, "name"), _required(request, "metric")
    return await _blocking(trend, _source(request), suite, name, metric, _filters(request))


async def get_pivot(request: web.Request) -> web.Response:
    suite = _required(request, "suite")
    return await _blocking(pivot, _source(request), suite, request.query.get("metric") or None, _filters(request))


async def get_runs(request: web.Request) -> web.Response:
    limit, offset = _int(request, "limit", 100, 1, 1000), _int(request, "offset", 0)
    return await _blocking(run_list, _source(request), _filters(request), limit, offset)


def _run_with_charts(store: Any, run_id: str) -> dict[str, Any]:
    """The run's detail plus the chart data its page draws (pp x tg cells, rate sweep levels)."""
    detail: dict[str, Any] = run_detail(store, run_id)
    results = detail.get("results", [])
    return {**detail, "cells": throughput_cells(results), "sweep": sweep_points(results)}


async def get_run(request: web.Request) -> web.Response:
    return await _blocking(_run_with_charts, _store(request), request.match_info["run_id"])


async def get_samples(request: web.Request) -> web.Response:
    run_id = await asyncio.to_thread(_store(request).resolve, request.match_info["run_id"])
    return await _blocking(
        sample_page,
        _store(request),
        run_id,
        offset=_int(request, "offset", 0),
        limit=_int(request, "limit", 50, 1, 500),
        query=request.query.get("q", ""),
        task=request.query.get("task") or None,
        status=request.query.get("status", "all"),
    )


async def get_compare(request: web.Request) -> web.Response:
    return await _blocking(compare, _store(request), _required(request, "a"), _required(request, "b"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/catalog", get_catalog)
    app.router.add_get("/api/leaderboard", get_leaderboard)
    app.router.add_get("/api/trend", get_trend)
    app.router.add_get("/api/pivot", get_pivot)
    app.router.add_get("/api/runs", get_runs)
    app.router.add_get("/api/runs/{run_id}", get_run)
    app.router.add_get("/api/runs/{run_id}/samples", get_samples)
    app.router.add_get("/api/compare", get_compare)

"""The dashboard web app: aiohttp, a JSON API, and a small static front-end with plotly.js from the package.

Security: it listens on 127.0.0.1 unless told otherwise; on loopback it answers only requests whose Host is a
loopback name (a DNS-rebinding page cannot read the API); every response carries a Content-Security-Policy
that allows only this origin's scripts, so even a store string that reached markup could not run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mlx_benchmarks.dashboard.api import STATE, add_routes, json_response
from mlx_benchmarks.errors import BenchError, StoreError
from mlx_benchmarks.report.assets import plotly_js, static_text
from mlx_benchmarks.views import ViewSource

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# name -> (package holding static/<name>, content type); a fixed table, so no path can reach other files
ASSETS = {
    "app.js": ("mlx_benchmarks.dashboard", "text/javascript"),
    "render.js": ("mlx_benchmarks.report", "text/javascript"),
    "style.css": ("mlx_benchmarks.report", "text/css"),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _host_name(header: str) -> str:
    if header.startswith("["):  # [::1]:8765
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _secure(headers: MutableMapping[str, str]) -> None:
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"


def make_app(store: Any, *, loopback_only: bool = True) -> web.Application:
    """The app for one store; ``loopback_only`` rejects requests addressed to any non-loopback Host."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback_only and _host_name(request.host).lower() not in LOOPBACK_NAMES:
            return web.Response(status=421, text="this dashboard answers only on a loopback address\n")
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 404s and the like: aiohttp wants these raised, not returned
            _secure(exc.headers)
            raise
        except StoreError as exc:
            response = json_response({"error": str(exc)}, status=404)
        except BenchError as exc:
            response = json_response({"error": str(exc)}, status=400)
        _secure(response.headers)
        return response

    app = web.Application(middlewares=[guard])
    app[STATE] = {"store": store, "source": ViewSource(store)}
    add_routes(app)
    app.router.add_get("/", _index)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/static/plotly.min.js", _plotly)
    app.router.add_get("/static/{name}", _asset)
    return app


def warm(app: web.Application) -> None:
    """Bring the store's shard index up to date (the first time, it reads every shard); warn on stderr about
    any shard left out of the views (unreadable, or holding NaN)."""
    source = app[STATE]["source"]
    source.connect().close()
    for run_id, reason in sorted(source.skipped.items()):
        sys.stderr.write(f"mlx-bench: warning: skipped shard {run_id}: {reason}\n")


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=static_text("index.html", "mlx_benchmarks.dashboard"), content_type="text/html")


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _plotly(request: web.Request) -> web.Response:
    return web.Response(text=plotly_js(), content_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


async def _asset(request: web.Request) -> web.Response:
    entry = ASSETS.get(request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound()
    package, content_type = entry
    return web.Response(text=static_text(request.match_info["name"], package), content_type=content_type)


@dataclass
class BackgroundServer:
    """The dashboard served from a thread with its own event loop (for tests and embedding).

    ``port=0`` picks a free port; ``url`` is known once ``start()`` returns.
    """

    app: web.Application
    host: str = "127.0.0.1"
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise self._error
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._runner, self.port = loop.run_until_complete(start_site(self.app, self.host, self.port))
        except BaseException as exc:  # handed to the thread that called start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Bind and start; returns the runner and the port actually bound (for ``port=0``)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    addresses = runner.addresses
    return runner, int(addresses[0][1]) if addresses else port

"""``mlx-bench dashboard``: serve the local web dashboard over the results store."""

from __future__ import annotations

import argparse
import asyncio
import webbrowser
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, open_store, store_location
from mlx_benchmarks.errors import StoreError, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dashboard", help="browse the store in a local web dashboard")
    add_store_option(parser)
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; any other exposes the store)"
    )
    parser.add_argument("--no-open", action="store_true", help="do not open a browser tab")
    parser.set_defaults(func=run_dashboard)


def run_dashboard(args: argparse.Namespace) -> int:
    from mlx_benchmarks.dashboard.server import is_loopback, make_app, start_site, warm
    from mlx_benchmarks.report.assets import plotly_js
    from mlx_benchmarks.store import Store

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    plotly_js()  # a missing plotly is one PrerequisiteError line now, not a broken page later
    location = store_location(args)
    store = open_store(args)
    if isinstance(store, Store) and not store.runs_dir.is_dir():
        raise StoreError(f"no results store at {location} (no runs/ folder); store a run first or pass --store")
    loopback = is_loopback(args.host)
    app = make_app(store, loopback_only=loopback)
    out = console()
    out.print(f"indexing {location} ...", markup=False)
    warm(app)  # build the shard index now, not on the first page load

    async def serve() -> None:
        try:
            runner, port = await start_site(app, args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; pick another --port") from None
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{port}/"
        out.print(f"dashboard on {url} (Ctrl-C stops it)", markup=False)
        if not loopback:
            out.print(f"warning: listening on {args.host}: anyone who can reach it can read this store", markup=False)
        if not args.no_open:
            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        out.print("dashboard stopped", markup=False)
    return 0

"""TEST DOUBLE support: an aiohttp app served on 127.0.0.1 (a free port), on the test's own loop or in a thread.

Subclasses add their routes in ``routes(app)``; ``port`` is 0 until the server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any, Self

from aiohttp import web


class LoopbackServer:
    """``async with server`` or ``with server.in_thread()`` serves ``routes`` on loopback."""

    port: int = 0
    _runner: web.AppRunner | None = None
    _site: web.SockSite | None = None
    runner_options: dict[str, Any] = {}  # noqa: RUF012 (read only)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, **self.runner_options)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[Self]:
        """Serve from a background thread with its own event loop (for code that runs its own loop)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.__aenter__(), loop).result(timeout=10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.__aexit__(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    async def stop_listening(self) -> None:
        """Close the listening socket (open connections stay): the server has died."""
        if self._site is not None:
            await self._site.stop()

"""Worker processes started as fresh interpreters, talking to the parent over a socket pair.

This is the ``spawn`` start method (a new interpreter, nothing inherited: fork would copy the asyncio and
MLX threads' locks) without ``multiprocessing.Process``, whose spawn also starts a resource-tracker process
that outlives the workers (it would be counted in the process tree whose memory a run samples) and re-runs
the caller's ``__main__`` in every child. The messages are ``multiprocessing.connection.Connection``'s
pickled objects, over one end of a ``socket.socketpair`` handed to the child as an inherited descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any


def spawn_worker(module: str, *args: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m module FD *args``; the child wraps FD with ``connection_from_argv``."""
    mine, theirs = socket.socketpair()
    try:
        process = subprocess.Popen([sys.executable, "-m", module, str(theirs.fileno()), *args],
                                   pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    return process, Connection(mine.detach())


def connection_from_argv() -> Connection:
    """The child's end of the pair (``sys.argv[1]``)."""
    return Connection(int(sys.argv[1]))


async def receive(conn: Connection, timeout_s: float | None) -> Any:
    """The next message, without blocking the caller's loop while it is on its way.

    TimeoutError after ``timeout_s``; EOFError when the other side has gone.
    """
    if not conn.poll():
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(conn.fileno(), wake)
        try:
            await asyncio.wait_for(readable, timeout_s)
        finally:
            loop.remove_reader(conn.fileno())
    # uvloop leaves a watched descriptor non-blocking; a message larger than one read must be waited for
    os.set_blocking(conn.fileno(), True)
    return conn.recv()


async def stop_worker(process: subprocess.Popen[bytes], conn: Connection, *, grace_s: float = 10.0) -> None:
    """Ask a worker to stop (``("stop", None)``), wait ``grace_s``, then kill it."""
    with contextlib.suppress(OSError):  # a worker that died has nothing to stop
        conn.send(("stop", None))
    try:
        await asyncio.to_thread(process.wait, grace_s)
    except subprocess.TimeoutExpired:
        kill(process)
    conn.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a worker now and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait()

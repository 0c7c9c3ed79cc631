"""Scorers run in a pool of worker processes, beside the requests and never inside their slots.

CPU-bound scorers (math-verify and sympy, the IFBench checkers, BFCL's AST checker, the code sandbox's
launches) would hold the event loop, or fight over one GIL in threads, while the next answers wait. The pool
runs each scoring call in one of ``workers`` spawned processes (``--score-workers N``, default one per core),
so as many score at once as there are cores, and the engine keeps every request slot busy meanwhile.

A call that runs past its time limit has its worker killed (a stuck sympy simplification or a runaway
checker never returns otherwise) and fails with ``ScoringFailed``: the sample records a scoring error, not a
wrong answer. A scorer that cannot be pickled (a closure over a live object, such as the math-verify checker,
which already scores in processes of its own) runs in a thread instead, with the same time limit; a thread
cannot be killed, so past its limit it is left to finish on its own and its verdict is dropped.
"""

from __future__ import annotations

import asyncio
import importlib
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from mlx_benchmarks.measure.spawned import connection_from_argv, kill, receive, spawn_worker, stop_worker
from mlx_benchmarks.measure.workers import usable_cores

WORKER_MODULE = "mlx_benchmarks.scoring.pool"


class ScoringFailed(Exception):
    """A scorer raised, crashed or ran past its time limit: the sample's error, not its score."""


START_TIMEOUT_S = 120.0  # a worker's start (interpreter, the scorers' imports) is not charged to a call


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process, self.conn, self.ready = process, conn, False


class ScoringPool:
    """``await pool.score(fn, *args, timeout_s=...)`` runs ``fn(*args)`` in a worker process.

    Use as ``async with ScoringPool(...)``; workers start at once (their imports overlap the first
    requests) and stop when the block ends.
    """

    def __init__(self, workers: int | None = None, *, preload: Sequence[str] = ()) -> None:
        self.workers = max(1, workers or usable_cores())
        self.preload = [name for name in dict.fromkeys(preload) if name]
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._all: list[_Worker] = []
        self._threads = ThreadPoolExecutor(max_workers=2 * self.workers + 4, thread_name_prefix="mlx-bench-score")
        self.killed = 0  # workers killed past a time limit (or found dead)

    async def __aenter__(self) -> ScoringPool:
        for _ in range(self.workers):
            self._idle.put_nowait(self._spawn())
        return self

    async def __aexit__(self, *exc: object) -> None:
        workers, self._all = self._all, []
        await asyncio.gather(*(stop_worker(w.process, w.conn, grace_s=5.0) for w in workers))
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _spawn(self) -> _Worker:
        worker = _Worker(*spawn_worker(WORKER_MODULE, *self.preload))
        self._all.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        self.killed += 1
        kill(worker.process)
        worker.conn.close()
        self._all.remove(worker)

    async def score(self, fn: Callable[..., Any], *args: Any, timeout_s: float) -> Any:
        """``fn(*args)``, in a worker process when it pickles (else a thread); ScoringFailed past ``timeout_s``,
        when it raises, or when its process dies."""
        try:
            payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return await self._in_thread(fn, args, timeout_s)
        worker = await self._idle.get()
        if worker is None or worker.process.poll() is not None:
            if worker is not None:
                self._retire(worker)
            worker = self._spawn()
        keep: _Worker | None = worker
        try:
            if not worker.ready:
                await receive(worker.conn, START_TIMEOUT_S)  # ("ready", None)
                worker.ready = True
            worker.conn.send_bytes(payload)
            kind, value = await receive(worker.conn, timeout_s)
        except TimeoutError:
            keep = None
            self._retire(worker)
            raise ScoringFailed(f"scorer ran past its {timeout_s:g} s limit (its process was killed)") from None
        except (EOFError, OSError) as exc:
            keep = None
            self._retire(worker)
            raise ScoringFailed(f"scorer process died: {exc or type(exc).__name__}") from None
        finally:
            self._idle.put_nowait(keep)  # None: a fresh worker is spawned by the next call
        if kind == "error":
            raise ScoringFailed(str(value))
        return value

    async def _in_thread(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads, lambda: fn(*args)), timeout_s)
        except TimeoutError:
            raise ScoringFailed(f"scorer ran past its {timeout_s:g} s limit (in a thread, left to finish)") from None
        except Exception as exc:
            raise ScoringFailed(f"{type(exc).__name__}: {exc}"[:500]) from None


def module_of(fn: Callable[..., Any]) -> str:
    """The module a scorer lives in (through ``functools.partial``), for the workers to import up front."""
    inner = getattr(fn, "func", fn)
    return str(getattr(inner, "__module__", "") or "")


def _serve() -> None:
    """A worker: import the scorers' modules, then answer one pickled call at a time until stopped."""
    conn = connection_from_argv()
    for name in sys.argv[2:]:
        try:
            importlib.import_module(name)
        except Exception:  # the call that needs it reports the failure
            continue
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        fn, args = pickle.loads(message)
        if fn == "stop":  # ("stop", None), from stop_worker
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:  # a scorer's own failure: the sample's error
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("error", f"the scorer's verdict cannot be sent back: {exc}"[:500]))


if __name__ == "__main__":
    _serve()

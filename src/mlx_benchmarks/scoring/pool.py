"""Scorers run in a pool of worker processes, beside the requests and never inside their slots.

CPU-bound scorers (math-verify and sympy, the IFBench checkers, BFCL's AST checker) would hold the event
loop, or fight over one GIL in threads, while the next answers wait. The pool runs a CPU-bound scorer's
calls in ``workers`` spawned processes (``--score-workers N``, default one per core), so as many score at
once as there are cores, and the engine keeps every request slot busy meanwhile. Which scorers are CPU-bound
is measured, not declared: each starts in threads, where its calls' CPU time is counted, and moves to the
processes once their median reaches ``CPU_BOUND_S`` (a regex over the answer, or the code sandbox, whose work is in
a child process of its own, never pays for a process start).

A call that runs past its time limit has its worker killed (a stuck sympy simplification or a runaway
checker never returns otherwise) and fails with ``ScoringFailed``: the sample records a scoring error, not a
wrong answer. A scorer that cannot be pickled (a closure over a live object, such as the math-verify checker,
which already scores in processes of its own) runs in a thread instead, with the same time limit, as does
every call while no worker is ready yet (the pool's first second, or while a killed worker is replaced); a
thread cannot be killed, so past its limit it is abandoned (a daemon thread: it cannot keep the process
alive) and its verdict is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pickle
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from mlx_benchmarks.measure.spawned import connection_from_argv, kill, receive, spawn_worker, stop_worker
from mlx_benchmarks.measure.workers import usable_cores

WORKER_MODULE = "mlx_benchmarks.scoring.pool"


class ScoringFailed(Exception):
    """A scorer raised, crashed or ran past its time limit: the sample's error, not its score."""


# a scorer whose calls take this much CPU (median of its first calls, in threads) moves to the processes;
# the code sandbox's Python side (building and starting the sandbox) takes about 14 ms and stays in threads
CPU_BOUND_S = 0.025
COST_SAMPLES = 16
START_TIMEOUT_S = 120.0  # a worker's start (interpreter, the scorers' imports) is not charged to a call


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process, self.conn, self.ready = process, conn, False


class ScoringPool:
    """``await pool.score(fn, *args, timeout_s=...)`` runs ``fn(*args)`` in a thread or a worker process.

    Use as ``async with ScoringPool(...)``. A scorer starts in threads, where its CPU time is measured; once
    the median of its first calls reaches ``cpu_bound_s`` of CPU (or one ran past its limit), its calls go to
    the worker processes, started then (``cpu_bound_s=0``: every picklable call, from the first). A cheap scorer (a regex
    over the answer) or one that waits on a child process of its own (the code sandbox) stays in threads and
    costs no process start; until the workers are ready (an interpreter and the scorers' imports: a second
    or so on a busy machine), calls run in threads too.
    """

    def __init__(self, workers: int | None = None, *, preload: Sequence[str] = (),
                 cpu_bound_s: float = CPU_BOUND_S) -> None:
        self.workers = max(1, workers or usable_cores())
        self.cpu_bound_s = cpu_bound_s
        self._cost: dict[str, list[float]] = {}  # scorer -> CPU seconds of its first calls in threads
        self._heavy: set[str] = set()  # scorers whose calls go to the processes
        self._closed = False
        self.preload = [name for name in dict.fromkeys(preload) if name]
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()  # ready and not busy
        self._all: list[_Worker] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._ready = 0
        self._threads = asyncio.Semaphore(2 * self.workers + 4)
        self.killed = 0  # workers killed past a time limit, found dead, or that never started

    async def __aenter__(self) -> ScoringPool:
        if self.cpu_bound_s <= 0:
            self._start_workers()
        return self

    def _start_workers(self) -> None:
        if not self._all and not self._starting and not self._closed:
            for _ in range(self.workers):
                self._launch()

    async def __aexit__(self, *exc: object) -> None:
        self._closed = True  # a thread abandoned past its limit may report later: no worker starts then
        for task in list(self._starting):
            task.cancel()
        workers, self._all = self._all, []
        await asyncio.gather(*(stop_worker(w.process, w.conn, grace_s=5.0) for w in workers))

    async def wait_ready(self) -> None:
        """Until every worker now starting is ready (or failed to start)."""
        await asyncio.gather(*list(self._starting))

    def _launch(self) -> None:
        worker = _Worker(*spawn_worker(WORKER_MODULE, *self.preload))
        self._all.append(worker)
        task = asyncio.create_task(self._await_ready(worker))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _await_ready(self, worker: _Worker) -> None:
        try:
            await receive(worker.conn, START_TIMEOUT_S)  # ("ready", None)
        except (TimeoutError, EOFError, OSError):
            self._retire(worker)  # calls go to threads while no worker is ready
            return
        worker.ready = True
        self._ready += 1
        self._idle.put_nowait(worker)

    def _retire(self, worker: _Worker) -> None:
        self.killed += 1
        self._ready -= worker.ready
        kill(worker.process)
        worker.conn.close()
        if worker in self._all:
            self._all.remove(worker)

    async def score(self, fn: Callable[..., Any], *args: Any, timeout_s: float) -> Any:
        """``fn(*args)``, in a worker process when it pickles (else a thread); ScoringFailed past ``timeout_s``,
        when it raises, or when its process dies."""
        key = _key(fn)
        if self.cpu_bound_s > 0 and key not in self._heavy:
            return await self._in_thread(fn, args, timeout_s, key)
        try:
            payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return await self._in_thread(fn, args, timeout_s, key)
        self._start_workers()
        if not self._ready:  # the pool is starting (or replacing a killed worker): a thread scores meanwhile
            return await self._in_thread(fn, args, timeout_s, key)
        worker = await self._idle.get()
        try:
            worker.conn.send_bytes(payload)
            kind, value = await receive(worker.conn, timeout_s)
        except TimeoutError:
            self._replace(worker)
            raise ScoringFailed(f"scorer ran past its {timeout_s:g} s limit (its process was killed)") from None
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise ScoringFailed(f"scorer process died: {exc or type(exc).__name__}") from None
        self._idle.put_nowait(worker)
        if kind == "error":
            raise ScoringFailed(str(value))
        return value

    def _replace(self, worker: _Worker) -> None:
        self._retire(worker)
        if not self._closed:
            self._launch()

    async def _in_thread(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float, key: str) -> Any:
        """``fn(*args)`` in a daemon thread: one past its limit is abandoned, and cannot keep the process alive."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def settle(outcome: tuple[bool, Any], cpu_s: float) -> None:
            costs = self._cost.setdefault(key, [])
            if len(costs) < COST_SAMPLES:
                costs.append(cpu_s)
            # the median of a few calls: a first call's lazy imports must not decide it
            if len(costs) >= 3 and statistics.median(costs) >= self.cpu_bound_s:
                self._heavy.add(key)
                self._start_workers()  # now, so they are ready by the scorer's next calls
            if not done.done():
                (done.set_result if outcome[0] else done.set_exception)(outcome[1])

        def call() -> None:
            cpu0 = time.thread_time()
            try:
                outcome: tuple[bool, Any] = (True, fn(*args))
            except Exception as exc:
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the run ended (its loop closed) while this was abandoned
                loop.call_soon_threadsafe(settle, outcome, time.thread_time() - cpu0)

        async with self._threads:
            threading.Thread(target=call, daemon=True, name="mlx-bench-score").start()
            try:
                return await asyncio.wait_for(done, timeout_s)
            except TimeoutError:
                self._heavy.add(key)  # it may be spinning: its next calls go where they can be killed
                self._start_workers()
                raise ScoringFailed(f"scorer ran past its {timeout_s:g} s limit (in a thread, left to finish)") from None
            except Exception as exc:
                raise ScoringFailed(f"{type(exc).__name__}: {exc}"[:500]) from None


def _key(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "func", fn)
    return f"{module_of(fn)}.{getattr(inner, '__qualname__', repr(inner))}"


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

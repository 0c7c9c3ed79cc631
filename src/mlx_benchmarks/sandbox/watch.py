"""The harness's eye on a sandboxed program: its memory, polled from outside, and a final sweep.

``ProcessWatch`` polls the program's process tree with psutil (no ``/proc`` reads of our own, so it
works on macOS, where ``RLIMIT_AS`` is not enforced): when the tree's resident memory passes the
limit it kills the whole tree. Every pid it ever sees is remembered, with its start time.

``sweep()`` then kills whatever is left of the program, however it tried to get away: its session
or process group, every pid seen in the tree, and any process started after the program that still
carries the program's token in its environment (a child that called ``setsid`` and whose parent
exited between two polls is no longer in the tree, but it still has the token).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from contextlib import suppress

import psutil

__all__ = ["TOKEN_ENV", "ProcessWatch", "new_token"]

TOKEN_ENV = "MLXB_SANDBOX_RUN"
POLL_S = 0.05
_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ProcessLookupError, PermissionError)


def new_token() -> str:
    """A fresh marker for one program's environment."""
    return secrets.token_hex(12)


class ProcessWatch:
    """Poll one program's process tree and kill it all past its memory limit (None: no limit).

    The limit holds per process, like ``RLIMIT_AS``; the whole tree may hold ``TREE_FACTOR`` times
    as much, because resident pages a forked child shares with its parent are counted in both.
    """

    TREE_FACTOR = 4

    def __init__(self, pid: int, *, token: str, memory_bytes: int | None, poll_s: float = POLL_S) -> None:
        self.pid = pid
        self.token = token
        self.memory_bytes = memory_bytes
        self.poll_s = poll_s
        self.started = time.time()
        self.seen: dict[int, float] = {}  # pid -> create_time, so a reused pid is never mistaken
        self.peak_rss = 0  # of the whole tree
        self.over_limit: str | None = None  # why the memory watch killed the program
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sandbox-watch-{pid}", daemon=True)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.poll():
                return
            self._stop.wait(self.poll_s)

    def poll(self) -> bool:
        """One look at the tree; False once the program's first process is gone."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except _GONE:
            return False
        sizes = []
        for proc in tree:
            with suppress(*_GONE):
                self.seen.setdefault(proc.pid, proc.create_time())
                sizes.append(proc.memory_info().rss)
        self.peak_rss = max(self.peak_rss, sum(sizes))
        verdict = self._memory_verdict(sizes)
        if verdict is not None and self.over_limit is None:
            self.over_limit = verdict
            self.sweep()
            return False
        return True

    def _memory_verdict(self, sizes: list[int]) -> str | None:
        if self.memory_bytes is None or not sizes:
            return None
        limit_mb = self.memory_bytes / 2**20
        if max(sizes) > self.memory_bytes:
            return f"memory limit: one process held {max(sizes) / 2**20:.0f} MB, over {limit_mb:.0f} MB"
        if sum(sizes) > self.TREE_FACTOR * self.memory_bytes:
            return (f"memory limit: {len(sizes)} processes held {sum(sizes) / 2**20:.0f} MB together, "
                    f"over {self.TREE_FACTOR} x {limit_mb:.0f} MB")
        return None

    def _belongs(self, proc: psutil.Process) -> bool:
        created = proc.create_time()
        if created < self.started - 1.0:  # older than the program: never one of its processes
            return False
        if self.seen.get(proc.pid) == created:
            return True
        with suppress(OSError):
            if self.pid in (os.getsid(proc.pid), os.getpgid(proc.pid)):
                return True
        try:
            return proc.environ().get(TOKEN_ENV) == self.token
        except _GONE:
            return False

    def leftovers(self) -> list[psutil.Process]:
        """Live processes of the program (zombies are dead already; their parent reaps them)."""
        found = []
        me = os.getpid()
        for proc in psutil.process_iter():
            if proc.pid == me:
                continue
            with suppress(*_GONE):
                if proc.status() != psutil.STATUS_ZOMBIE and self._belongs(proc):
                    found.append(proc)
        return found

    def sweep(self, rounds: int = 20) -> int:
        """Kill every leftover process of the program; how many were killed.

        Each round stops them all before killing any, so a fork bomb cannot outrun the kills.
        """
        with suppress(*_GONE):
            os.killpg(self.pid, 9)
        killed = 0
        for _ in range(rounds):
            victims = self.leftovers()
            if not victims:
                break
            for proc in victims:
                with suppress(*_GONE):
                    proc.suspend()
            for proc in victims:
                with suppress(*_GONE):
                    proc.kill()
                    killed += 1
            # never wait on the program's first process: that would reap it under Popen's feet
            psutil.wait_procs([p for p in victims if p.pid != self.pid], timeout=0.5)
        return killed

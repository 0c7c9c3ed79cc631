"""The harness's eye on a sandboxed program: its memory, polled from outside, and a final sweep.

``ProcessWatch`` follows the program's whole family, not only its first process's current children:
every process it has seen (pid and start time) stays a member, and so does any later process whose
parent, session or process group is a member's, so a child that calls ``setsid`` and double-forks is
still followed once any step of it was seen. Where the program runs in a memory cgroup
(``sandbox.memory``, Linux), the cgroup's member list is the family, whatever the program did.

Memory: on macOS the physical footprint (``proc_pid_rusage``: compressed pages and Metal buffers
included, and its lifetime maximum, so a spike between two polls is still seen), elsewhere RSS.
Members are measured every ``POLL_S`` (10 ms) and the family is rediscovered every ``SCAN_EVERY``
polls; past the limit the whole family is killed at once. With a cgroup the kernel holds the limit
without a window and the watch turns its OOM count into the verdict. docs/sandbox.md gives the
overshoot measured on the polled path.

``sweep()`` then kills whatever is left: its session or process group, every member, the cgroup's
members, any process carrying the program's token in its environment, and, for a program whose
family may have escaped unseen (empty environment, new session, orphaned), any orphan of the same
user running the same interpreter that started during the run and belongs to no other live watch.
"""

from __future__ import annotations

import ctypes
import os
import platform
import secrets
import threading
import time
from contextlib import suppress
from typing import ClassVar

import psutil

from mlx_benchmarks.measure.memory_source import RUSAGE_INFO_V4, RusageInfoV4, load_proc_pid_rusage
from mlx_benchmarks.sandbox.memory import ProgramCgroup

__all__ = ["POLL_S", "TOKEN_ENV", "ProcessWatch", "new_token"]

TOKEN_ENV = "MLXB_SANDBOX_RUN"
POLL_S = 0.01
SCAN_EVERY = 5  # a full process-table scan every 5 polls (50 ms); members are measured at every poll
_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ProcessLookupError, PermissionError)
_MB = 2**20


def new_token() -> str:
    """A fresh marker for one program's environment."""
    return secrets.token_hex(12)


class _Footprint:
    """macOS: (current, lifetime maximum) physical footprint of a process, from libproc."""

    def __init__(self) -> None:
        self.rusage = load_proc_pid_rusage() if platform.system() == "Darwin" else None

    def read(self, pid: int) -> tuple[int, int] | None:
        if self.rusage is None:
            return None
        info = RusageInfoV4()
        if self.rusage(pid, RUSAGE_INFO_V4, ctypes.addressof(info)) != 0:
            return None
        return int(info.ri_phys_footprint), int(info.ri_lifetime_max_phys_footprint)


class ProcessWatch:
    """Follow one program's process family and kill it all past its memory limit (None: no limit).

    The limit holds per process, like ``RLIMIT_AS``; the whole family may hold ``TREE_FACTOR`` times
    as much, because resident pages a forked child shares with its parent are counted in both (a
    cgroup, where there is one, holds the family to the limit itself, counting shared pages once).
    """

    TREE_FACTOR = 4
    _live: ClassVar[set[ProcessWatch]] = set()  # watches whose program may still have processes
    _live_lock = threading.Lock()

    def __init__(self, pid: int, *, token: str, memory_bytes: int | None, poll_s: float = POLL_S,
                 cgroup: ProgramCgroup | None = None) -> None:
        self.pid = pid
        self.token = token
        self.memory_bytes = memory_bytes
        self.poll_s = poll_s
        self.cgroup = cgroup
        self.started = time.time()
        self.seen: dict[int, float] = {}  # pid -> create_time, so a reused pid is never mistaken
        self.peak_rss = 0  # of the whole family (footprint on macOS)
        self.over_limit: str | None = None  # why the memory watch killed the program
        self.exes: set[str] = set()  # what the program's processes ran, for the orphan sweep
        self.uid: int | None = None
        self.cwd: str | None = None  # the program's folder
        self._footprint = _Footprint()
        self._polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sandbox-watch-{pid}", daemon=True)
        with suppress(*_GONE):
            root = psutil.Process(pid)
            self.seen[pid] = root.create_time()
            self.uid = root.uids().real
            self.cwd = root.cwd() or None
        with self._live_lock:
            self._live.add(self)

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

    # ------------------------------------------------------------------ the family

    def _member(self, pid: int, created: float) -> bool:
        return self.seen.get(pid) == created

    def _discover(self) -> None:
        """One scan of the process table: add every process tied to a member by parent, session or group."""
        if self.cgroup is not None:  # the kernel's member list is the family: no scan needed
            for pid in self.cgroup.pids():
                with suppress(*_GONE):
                    self.seen.setdefault(pid, psutil.Process(pid).create_time())
            return
        candidates = []
        for proc in psutil.process_iter(["ppid", "create_time"]):
            created = proc.info["create_time"]
            if created is None or created < self.started - 1.0 or proc.pid in self.seen:
                continue
            candidates.append((created, proc.pid, proc.info["ppid"]))
        candidates.sort()  # parents before children, so one pass usually closes the family
        for _ in range(3):
            added = False
            for created, pid, ppid in candidates:
                if pid in self.seen:
                    continue
                ties = {ppid}
                with suppress(OSError):
                    ties |= {os.getsid(pid), os.getpgid(pid)}
                if ties & self.seen.keys():
                    self.seen[pid] = created
                    added = True
            if not added:
                break

    def _family(self) -> list[psutil.Process]:
        members = []
        for pid, created in list(self.seen.items()):
            with suppress(*_GONE):
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    members.append(proc)
        return members

    def _size(self, proc: psutil.Process) -> tuple[int, int]:
        """(now, most ever) of one process: footprint on macOS, RSS (now twice) elsewhere."""
        footprint = self._footprint.read(proc.pid)
        if footprint is not None:
            return footprint
        rss = int(proc.memory_info().rss)
        return rss, rss

    def poll(self) -> bool:
        """One look at the family; False once nothing of the program is left (or it was killed)."""
        if self._polls % SCAN_EVERY == 0:
            with suppress(*_GONE):
                self._discover()
        self._polls += 1
        family = self._family()
        if not family:
            return False
        now, most = [], []
        for proc in family:
            with suppress(*_GONE):
                if self._polls % SCAN_EVERY == 1:
                    self.exes.add(proc.exe())
                current, peak = self._size(proc)
                now.append(current)
                most.append(peak)
        self.peak_rss = max(self.peak_rss, sum(now))
        verdict = self._memory_verdict(now, most) or self._cgroup_verdict()
        if verdict is not None and self.over_limit is None:
            self.over_limit = verdict
            self.sweep()
            return False
        return True

    def _memory_verdict(self, now: list[int], most: list[int]) -> str | None:
        if self.memory_bytes is None or not now:
            return None
        limit_mb = self.memory_bytes / _MB
        if max(most) > self.memory_bytes:
            return f"memory limit: one process held {max(most) / _MB:.0f} MB, over {limit_mb:.0f} MB"
        if sum(now) > self.TREE_FACTOR * self.memory_bytes:
            return (f"memory limit: {len(now)} processes held {sum(now) / _MB:.0f} MB together, "
                    f"over {self.TREE_FACTOR} x {limit_mb:.0f} MB")
        return None

    def _cgroup_verdict(self) -> str | None:
        if self.cgroup is None or self.cgroup.oom_kills() == 0:
            return None
        peak = self.cgroup.peak_bytes()
        held = f" (peak {peak / _MB:.0f} MB)" if peak else ""
        return (f"memory limit: the kernel stopped the program's processes at the cgroup limit of "
                f"{self.cgroup.limit_bytes / _MB:.0f} MB{held}")

    # ------------------------------------------------------------------ after the program

    def _claimed_elsewhere(self, pid: int) -> bool:
        with self._live_lock:
            return any(pid in other.seen for other in self._live if other is not self)

    def _orphan_of_ours(self, proc: psutil.Process) -> bool:
        """An unseen escapee: orphaned, same user and interpreter, started during the run, still in the
        program's folder, nobody else's. Only where nothing better ties a process to the program
        (macOS: no cgroup, no pid namespace, no uid of its own)."""
        if platform.system() != "Darwin" or self.cgroup is not None or self.cwd is None or self.uid is None:
            return False
        # psutil's start times share one clock (not time.time's): compare with the first process's
        first = self.seen.get(self.pid)
        if proc.ppid() != 1 or first is None or proc.create_time() < first or proc.uids().real != self.uid:
            return False
        cwd = proc.cwd()
        inside = cwd == self.cwd or cwd.startswith(f"{self.cwd}/")
        return inside and proc.exe() in self.exes and not self._claimed_elsewhere(proc.pid)

    def _belongs(self, proc: psutil.Process) -> bool:
        created = proc.create_time()
        if created < self.started - 1.0:  # older than the program: never one of its processes
            return False
        if self._member(proc.pid, created):
            return True
        with suppress(OSError):
            if {os.getsid(proc.pid), os.getpgid(proc.pid), proc.ppid()} & self.seen.keys():
                return True
        with suppress(*_GONE):
            if proc.environ().get(TOKEN_ENV) == self.token:
                return True
        return self._orphan_of_ours(proc)

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

    def _judge_leftovers(self, victims: list[psutil.Process]) -> None:
        """A process left behind still counts against the limit: the verdict must not ignore it."""
        if self.over_limit is not None or self.memory_bytes is None:
            return
        sizes = []
        for proc in victims:
            with suppress(*_GONE):
                sizes.append(self._size(proc))
        if sizes:
            verdict = self._memory_verdict([s[0] for s in sizes], [s[1] for s in sizes])
            if verdict is not None:
                self.over_limit = verdict.replace("memory limit:", "memory limit (left behind):", 1)

    def sweep(self, rounds: int = 20) -> int:
        """Kill every leftover process of the program; how many were killed.

        Each round stops them all before killing any, so a fork bomb cannot outrun the kills.
        """
        with suppress(*_GONE):
            os.killpg(self.pid, 9)
        with suppress(*_GONE):
            self._discover()
        killed = 0
        for _ in range(rounds):
            victims = self.leftovers()
            if self.cgroup is not None:
                known = {p.pid for p in victims}
                for pid in self.cgroup.pids():
                    with suppress(*_GONE):
                        if pid not in known and pid != os.getpid():
                            victims.append(psutil.Process(pid))
            if not victims:
                break
            for proc in victims:
                with suppress(*_GONE):
                    proc.suspend()
            self._judge_leftovers(victims)
            for proc in victims:
                with suppress(*_GONE):
                    proc.kill()
                    killed += 1
            # never wait on the program's first process: that would reap it under Popen's feet
            psutil.wait_procs([p for p in victims if p.pid != self.pid], timeout=0.5)
        if self.over_limit is None:
            self.over_limit = self._cgroup_verdict()
        with self._live_lock:
            self._live.discard(self)
        return killed

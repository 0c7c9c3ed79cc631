"""Parent-death watching for managed servers: the server goes when the harness goes, however it goes.

One small interface, :class:`ParentWatch`, chosen once by :func:`choose_parent_watch`:

- ``prctl`` (Linux): the server process asks the kernel for SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``), then runs the server module in place;
- ``kqueue`` (macOS, BSD), ``pidfd`` (Linux >= 5.3) and ``poll`` (any POSIX): a tiny supervisor, this
  module run as ``python -m mlx_benchmarks.targets.parent_watch --method M --parent PID -- CMD...``,
  starts the server as its child, waits for the harness to exit (kqueue ``NOTE_EXIT``, a pidfd, or
  ``getppid()`` changing) and then stops the server's whole process group (SIGTERM, then SIGKILL).

``MLX_BENCH_PARENT_WATCH=prctl|kqueue|pidfd|poll`` forces one (tests run every backend this OS has).
The supervisor imports only the standard library, so it costs a few MB and no CPU while it waits.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ENV_VAR = "MLX_BENCH_PARENT_WATCH"
METHODS = ("prctl", "kqueue", "pidfd", "poll")
GRACE_S = 5.0  # between SIGTERM and SIGKILL when the harness is gone
TICK_S = 0.25  # how often the supervisor also checks getppid() and its server
# kqueue exists only on macOS/BSD and pidfd_open only on Linux: typed as Any so that mypy passes on both
_select: Any = select
_os: Any = os
# the child arms PR_SET_PDEATHSIG before running the server module, so it dies with us
_PRCTL_BOOT = (
    "import ctypes, os, runpy, signal, sys\n"
    "try:\n    ctypes.CDLL(None).prctl(1, signal.SIGTERM)\nexcept (AttributeError, OSError):\n    pass\n"
    "if os.getppid() == 1:\n    sys.exit(1)\n"
    "module = sys.argv[1]\nsys.argv = sys.argv[1:]\nrunpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


class ParentWatch(Protocol):
    """How a managed server is launched so that it cannot outlive the harness."""

    @property
    def name(self) -> str:
        """``prctl``, ``kqueue``, ``pidfd`` or ``poll`` (recorded in the target's details)."""

    def command(self, module_argv: list[str]) -> list[str]:
        """The argv that runs ``python -m module_argv[0] module_argv[1:]`` under this watch."""

    def server_pid(self, launched_pid: int) -> int:
        """The server's own PID (whose memory is measured), given the PID we launched."""


@dataclass(frozen=True)
class PrctlWatch:
    """Linux: the server itself carries PR_SET_PDEATHSIG; no extra process."""

    name: str = "prctl"

    def command(self, module_argv: list[str]) -> list[str]:
        return [sys.executable, "-c", _PRCTL_BOOT, *module_argv]

    def server_pid(self, launched_pid: int) -> int:
        return launched_pid


@dataclass(frozen=True)
class SupervisorWatch:
    """A supervisor process between us and the server, watching us by ``method``."""

    name: str

    def command(self, module_argv: list[str]) -> list[str]:
        return [sys.executable, "-m", __name__, "--method", self.name, "--parent", str(os.getpid()), "--",
                sys.executable, "-m", *module_argv]

    def server_pid(self, launched_pid: int) -> int:
        import psutil  # only in the harness; the supervisor stays standard-library only

        try:
            children = psutil.Process(launched_pid).children()
        except psutil.Error:
            return launched_pid
        return children[0].pid if children else launched_pid


def available_methods() -> tuple[str, ...]:
    """The watch methods this OS offers, best first."""
    found = []
    if sys.platform.startswith("linux"):
        found.append("prctl")
    if hasattr(select, "kqueue"):
        found.append("kqueue")
    if hasattr(os, "pidfd_open"):
        found.append("pidfd")
    found.append("poll")
    return tuple(found)


def choose_parent_watch(env: Mapping[str, str] | None = None) -> ParentWatch:
    """The best method here, or the one ``MLX_BENCH_PARENT_WATCH`` names (refused if this OS lacks it)."""
    from mlx_benchmarks.errors import UsageError

    env = os.environ if env is None else env
    offered = available_methods()
    wanted = env.get(ENV_VAR, "").strip()
    if wanted and wanted not in offered:
        raise UsageError(f"{ENV_VAR}={wanted!r}: this system offers {', '.join(offered)}")
    method = wanted or offered[0]
    return PrctlWatch() if method == "prctl" else SupervisorWatch(method)


# ---- the supervisor (runs in the child; standard library only) ----

def _parent_exit_waiter(method: str, parent: int) -> Callable[[float], bool]:
    """A function that waits up to ``t`` seconds and says whether ``parent`` has exited."""
    if method == "kqueue":
        queue = _select.kqueue()
        event = _select.kevent(parent, filter=_select.KQ_FILTER_PROC, flags=_select.KQ_EV_ADD,
                               fflags=_select.KQ_NOTE_EXIT)
        try:
            queue.control([event], 0, 0)
        except ProcessLookupError:
            return lambda t: True
        return lambda t: bool(queue.control(None, 1, t))
    if method == "pidfd":
        try:
            fd = _os.pidfd_open(parent)
        except ProcessLookupError:
            return lambda t: True
        return lambda t: bool(select.select([fd], [], [], t)[0])

    def sleep_then_check(t: float) -> bool:
        time.sleep(t)
        return False  # the getppid() check in the loop decides

    return sleep_then_check


def _stop_group(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after the grace period (us included)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    leader = os.getpgrp() == os.getpid()  # started with start_new_session: the group is ours alone
    send: Callable[[int], None] = (lambda sig: os.killpg(0, sig)) if leader else server.send_signal
    try:
        send(signal.SIGTERM)
        server.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    if leader:
        os.killpg(0, signal.SIGKILL)  # the server's own children too; this ends us as well
    else:
        server.kill()


def supervise(method: str, parent: int, argv: list[str]) -> int:
    """Run ``argv`` until it exits (its exit code) or until ``parent`` dies (group stopped)."""
    if os.getppid() != parent:
        return 1  # the harness is already gone: start nothing
    server = subprocess.Popen(argv)

    def forward(signum: int, frame: object) -> None:
        server.send_signal(signum)  # our stop(): the server shuts down, then we exit with its code

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    parent_exited = _parent_exit_waiter(method, parent)
    while True:
        if parent_exited(TICK_S) or os.getppid() != parent:
            _stop_group(server)
            return 1
        code = server.poll()
        if code is not None:
            return code if code >= 0 else 128 - code


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlx_benchmarks.targets.parent_watch",
                                     description="run a command until it exits or our parent dies")
    parser.add_argument("--method", choices=[m for m in METHODS if m != "prctl"], required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(args)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("no command after --")
    return supervise(options.method, options.parent, command)


if __name__ == "__main__":
    sys.exit(main())

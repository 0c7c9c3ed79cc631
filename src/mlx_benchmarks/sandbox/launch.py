"""How a sandboxed program is started: which interpreter, which uid, which command line, which probes.

The backend itself is chosen in ``sandbox.backend`` (from the platform facts probed here):

- ``bwrap``: bubblewrap gives a read-only view of ``/``, empty ``/tmp``, ``/root``, ``/home`` and
  ``$HOME``, fresh pid/net/ipc/uts namespaces, and kills everything when the sandbox's pid 1 exits.
- ``seatbelt``: ``sandbox-exec`` with a per-program profile (``sandbox.seatbelt``).
- ``rlimit-root``: as root, the runner itself enters fresh network and mount namespaces, hides the
  writable and home directories under empty tmpfs mounts, and drops to a uid of its own.
- ``none``: a plain child process with resource limits (only with --confirm-run-unsafe-code).

When the harness runs as root the program runs as a uid of its own (one per concurrent slot), so
``RLIMIT_NPROC`` really contains a fork bomb and leftover processes can be killed by uid.
Process information comes from psutil, never from ``/proc`` (macOS has none).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

import psutil

from mlx_benchmarks.errors import PrerequisiteError

Backend = Literal["bwrap", "seatbelt", "rlimit-root", "none"]
SANDBOX_DIR = "/tmp/sandbox"  # the program's cwd and HOME inside bwrap
# /var/tmp and /run too: a world-writable unix socket there (dbus, a database) is reachable by path
# from any network namespace, even on a read-only mount
HIDDEN_ROOTS = ("/root", "/home", "/tmp", "/var/tmp", "/run")
# rlimit-root also covers the directories any uid may write to, so nothing outlives the program
WRITABLE_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock")
FALLBACK_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
UID_SLOTS = 16
# the runner is harness.py (the program's side) followed by runner.py (the parent side), one -c source
RUNNER_SOURCE = "\n".join(Path(__file__).with_name(name).read_text(encoding="utf-8")
                          for name in ("harness.py", "runner.py"))


def is_root() -> bool:
    return os.geteuid() == 0


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _succeeds(command: list[str]) -> bool:
    """The probe command ran and exited 0."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def bwrap_works() -> bool:
    """Probe bubblewrap once with the namespaces we ask for (containers often forbid them)."""
    if bwrap_path() is None:
        return False
    probe = [*bwrap_args(sandbox_dir=None), "--", "/bin/true"]
    return _succeeds(probe)


@functools.cache
def seatbelt_works(sandbox_exec: str) -> bool:
    """Probe ``sandbox-exec`` once: it fails inside another sandbox, where profiles cannot nest."""
    probe = [sandbox_exec, "-p", "(version 1)(allow default)", "/usr/bin/true"]
    return _succeeds(probe)


@functools.cache
def namespaces_work() -> bool:
    """As root: can the runner enter fresh network and mount namespaces (rlimit-root's isolation)?

    The probe runs the runner's own isolation step and nothing else, so it tests exactly that code.
    """
    if not is_root():
        return False
    cfg = {"probe_isolation": True, "isolate": isolation_config(work=None)}
    probe = [sys.executable, "-s", "-B", "-c", RUNNER_SOURCE, json.dumps(cfg)]
    return _succeeds(probe)


def isolation_config(*, work: str | None) -> dict[str, object]:
    """What the runner hides under empty tmpfs mounts for rlimit-root, and where the program's folder is."""
    hide = sorted({os.path.realpath(p) for p in (*WRITABLE_ROOTS, *_hidden_roots())} - {"/"})
    hide = [p for p in hide if not any(p.startswith(o + "/") for o in hide)]  # /run already covers /run/lock
    scratch = sorted({os.path.realpath(p) for p in WRITABLE_ROOTS})
    return {"hide": [p for p in hide if os.path.isdir(p)], "scratch": scratch, "work": work}


def reset_probes() -> None:
    """Forget every probe result (tests that fake the platform call this through sandbox.backend.reset)."""
    for probe in (bwrap_works, seatbelt_works, namespaces_work, sandbox_python):
        clear = getattr(probe, "cache_clear", None)  # a test may have replaced the probe itself
        if clear is not None:
            clear()


def _hidden_roots() -> list[str]:
    roots = list(HIDDEN_ROOTS)
    home = os.environ.get("HOME")
    if home and os.path.isdir(home) and os.path.realpath(home) not in ("/", "/tmp"):
        roots.append(os.path.realpath(home))
    # a hidden path inside another hidden path is already hidden
    roots = sorted({r for r in roots if os.path.isdir(r)}, key=len)
    return [r for r in roots if not any(r != o and r.startswith(o + "/") for o in roots)]


def _python_roots() -> list[str]:
    """Directories the interpreter needs: the venv and the installation it was made from, and those of
    ``MLX_BENCH_SANDBOX_PYTHON`` (its folder and the installation above its ``bin``), which a hidden root
    (``/home``, ``/tmp``, ...) may cover as well."""
    exe = os.path.realpath(sys.executable)
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), os.path.dirname(exe)}
    override = os.environ.get("MLX_BENCH_SANDBOX_PYTHON")
    if override:
        folder = os.path.dirname(os.path.realpath(override))
        # never a whole hidden root or / itself: binding /tmp back would undo hiding it
        roots |= {p for p in (folder, os.path.dirname(folder)) if p != "/" and p not in HIDDEN_ROOTS}
    return sorted(roots)


def bwrap_args(*, sandbox_dir: str | None) -> list[str]:
    """The bubblewrap command line up to (not including) ``--``."""
    args = [bwrap_path() or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # multiprocessing's locks are POSIX semaphores, which live in /dev/shm
    args += ["--perms", "1777", "--tmpfs", "/dev/shm"]
    hidden = _hidden_roots()
    for root in hidden:
        args += ["--tmpfs", root]
    # put the interpreter back where a hidden directory covered it (e.g. pyenv under /root)
    for needed in _python_roots():
        cover = next((h for h in hidden if needed == h or needed.startswith(h + "/")), None)
        if cover is None:
            continue
        parts = Path(needed).relative_to(cover).parts
        for depth in range(1, len(parts)):
            args += ["--perms", "0755", "--dir", str(Path(cover, *parts[:depth]))]
        args += ["--ro-bind", needed, needed]
    if sandbox_dir is not None:
        args += ["--bind", sandbox_dir, SANDBOX_DIR, "--chdir", SANDBOX_DIR]
    if is_root():
        # no user namespace: the runner itself drops to the slot's uid, so RLIMIT_NPROC counts it
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-all", "--uid", "65534", "--gid", "65534"]
    return [*args, "--die-with-parent", "--new-session", "--hostname", "sandbox"]


def reachable_by_others(path: str) -> bool:
    """True when a uid that is neither owner nor group can execute ``path`` (every parent searchable)."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)
    except OSError:
        return False


def base_interpreter() -> str:
    """The real interpreter behind this (virtual) environment: what seatbelt lets the program run."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


@functools.cache
def sandbox_python(kind: Backend) -> str:
    """The interpreter the program runs under (``MLX_BENCH_SANDBOX_PYTHON`` overrides).

    bwrap can re-expose a hidden interpreter; seatbelt runs the base interpreter, so the profile
    needs to open its installation only, not the virtual environment; rlimit-root, running as
    another uid, needs one that uid can read, e.g. the system python3 when ours lives under /root.
    """
    override = os.environ.get("MLX_BENCH_SANDBOX_PYTHON")
    if override:
        return override
    if kind == "seatbelt":
        return base_interpreter()
    if kind != "rlimit-root":
        return sys.executable
    own = [sys.executable] if all(reachable_by_others(p) for p in (sys.executable, *_python_roots())) else []
    for candidate in [*own, *FALLBACK_PYTHONS]:
        if os.path.exists(candidate) and reachable_by_others(candidate):
            return candidate
    raise PrerequisiteError(
        "the rlimit-root sandbox needs a Python that an unprivileged uid can run "
        f"({sys.executable} is not reachable); install python3 or bubblewrap, or set MLX_BENCH_SANDBOX_PYTHON"
    )


class UidPool:
    """One uid per concurrent sandbox, so per-uid limits and kills never touch a neighbour.

    The range is derived from the pid, so two harness processes on one machine rarely share uids.
    A uid left with unreaped zombies (a container whose init does not reap) is retired: zombies
    still count against RLIMIT_NPROC.
    """

    def __init__(self, slots: int = UID_SLOTS) -> None:
        self.base = 100_000 + (os.getpid() % 20_000) * slots * 16
        self.end = self.base + slots * 16  # room to retire uids
        self._next = self.base + slots
        self._free = list(range(self.base, self.base + slots))
        self._cond = threading.Condition()

    def owns(self, uid: int) -> bool:
        return self.base <= uid < self.end

    @contextmanager
    def lease(self) -> Iterator[int]:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._free))
            uid = self._free.pop()
        try:
            yield uid
        finally:
            if uid_has_processes(uid) and self._next < self.end:
                uid, self._next = self._next, self._next + 1
            with self._cond:
                self._free.append(uid)
                self._cond.notify()


@functools.cache
def uid_pool() -> UidPool:
    return UidPool()


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid``: a helper switches to that uid and calls ``kill(-1)``.

    The kill happens before ``exec`` because a uid at its RLIMIT_NPROC cannot exec a new program
    (EAGAIN). Linux spares the sender; a few rounds catch processes forked during a round.
    """

    def kill_all_as_uid() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        with suppress(OSError):
            os.kill(-1, signal.SIGKILL)

    for _ in range(3):
        with suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["/bin/true"],
                preexec_fn=kill_all_as_uid,  # only plain syscalls run between fork and exec
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )


def uid_processes(uid: int) -> list[int]:
    """Pids (zombies included) whose real or effective owner is ``uid``."""
    found = []
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids is not None and uid in (uids.real, uids.effective):
            found.append(proc.pid)
    return found


def uid_has_processes(uid: int) -> bool:
    return bool(uid_processes(uid))


def count_own_processes() -> int:
    """Processes of the current user; the base for RLIMIT_NPROC when we cannot switch uid."""
    return len(uid_processes(os.getuid()))

"""How a sandboxed program is started: which sandbox, which interpreter, which uid, which command line.

Two kinds, chosen once per process (``MLX_BENCH_SANDBOX=bwrap|rlimit`` forces one):

- ``bwrap``: bubblewrap gives a read-only view of ``/``, empty ``/tmp``, ``/root``, ``/home`` and
  ``$HOME``, fresh pid/net/ipc/uts namespaces, and kills everything when the sandbox's pid 1 exits.
- ``rlimit``: a plain child process with resource limits and, where the kernel allows, an empty
  network namespace. It relies on file permissions of a separate uid for the filesystem.

When the harness runs as root the program runs as a uid of its own (one per concurrent slot), so
``RLIMIT_NPROC`` really contains a fork bomb and leftover processes can be killed by uid.
"""

from __future__ import annotations

import functools
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

from mlx_benchmarks.errors import PrerequisiteError

SandboxKind = Literal["bwrap", "rlimit"]
SANDBOX_DIR = "/tmp/sandbox"  # the program's cwd and HOME inside bwrap
HIDDEN_ROOTS = ("/root", "/home", "/tmp")
FALLBACK_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
UID_SLOTS = 16
RUNNER_SOURCE = (Path(__file__).with_name("sandbox_runner.py")).read_text(encoding="utf-8")


def is_root() -> bool:
    return os.geteuid() == 0


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def sandbox_kind() -> SandboxKind:
    """``bwrap`` where bubblewrap is installed and works here, else ``rlimit``."""
    forced = os.environ.get("MLX_BENCH_SANDBOX", "").strip().lower()
    if forced == "rlimit":
        return "rlimit"
    if forced == "bwrap":
        if not bwrap_works():
            raise PrerequisiteError(
                "MLX_BENCH_SANDBOX=bwrap but bwrap is missing or cannot create namespaces here"
            )
        return "bwrap"
    if forced:
        raise PrerequisiteError(f"MLX_BENCH_SANDBOX={forced!r}: choose bwrap or rlimit")
    return "bwrap" if bwrap_works() else "rlimit"


@functools.cache
def bwrap_works() -> bool:
    """Probe bubblewrap once with the namespaces we ask for (containers often forbid them)."""
    if bwrap_path() is None:
        return False
    probe = [*bwrap_args(sandbox_dir=None), "--", "/bin/true"]
    try:
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _hidden_roots() -> list[str]:
    roots = list(HIDDEN_ROOTS)
    home = os.environ.get("HOME")
    if home and os.path.isdir(home) and os.path.realpath(home) != "/":
        roots.append(os.path.realpath(home))
    # a hidden path inside another hidden path is already hidden
    roots = sorted({r for r in roots if os.path.isdir(r)}, key=len)
    return [r for r in roots if not any(r != o and r.startswith(o + "/") for o in roots)]


def _python_roots() -> list[str]:
    """Directories the interpreter needs: the venv and the installation it was made from."""
    exe = os.path.realpath(sys.executable)
    return sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), os.path.dirname(exe)})


def bwrap_args(*, sandbox_dir: str | None) -> list[str]:
    """The bubblewrap command line up to (not including) ``--``."""
    args = [bwrap_path() or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
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


@functools.cache
def sandbox_python(kind: SandboxKind) -> str:
    """The interpreter the program runs under (``MLX_BENCH_SANDBOX_PYTHON`` overrides).

    bwrap can re-expose a hidden interpreter; the rlimit sandbox running as another uid needs one
    that uid can read, e.g. the system python3 when the harness's Python lives under /root.
    """
    override = os.environ.get("MLX_BENCH_SANDBOX_PYTHON")
    if override:
        return override
    if kind == "bwrap" or not is_root():
        return sys.executable
    own = [sys.executable] if all(reachable_by_others(p) for p in (sys.executable, *_python_roots())) else []
    for candidate in [*own, *FALLBACK_PYTHONS]:
        if os.path.exists(candidate) and reachable_by_others(candidate):
            return candidate
    raise PrerequisiteError(
        "the rlimit sandbox needs a Python that an unprivileged uid can run "
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
    """Pids (zombies included) whose owner is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with suppress(OSError):
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
    return found


def uid_has_processes(uid: int) -> bool:
    return bool(uid_processes(uid))


def count_own_processes() -> int:
    """Processes of the current user; the base for RLIMIT_NPROC when we cannot switch uid."""
    me = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == me
            except OSError:
                continue
    return count

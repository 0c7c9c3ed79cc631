"""Memory without a polling window on Linux: one memory cgroup per program, limited by the kernel.

Where the harness may create cgroups (root, or a user given a delegated cgroup v2 subtree), every
program gets a cgroup of its own under the harness's current one, with its memory limit (and no
swap) set before the program exists: the command is wrapped in ``/bin/sh -c 'echo $$ > cgroup.procs;
exec ...'``, so the shell joins the cgroup and then becomes the sandbox, and every process the
program ever makes, a ``setsid`` grandchild with an empty environment included, is born inside it.
The kernel refuses the memory past the limit for the whole tree at once (it OOM-kills; cgroup v2's
``memory.oom.group`` kills the whole cgroup); the harness reads the OOM count for the verdict, kills
whatever is left through the cgroup's member list, and removes the cgroup.

cgroup v2 is used where the harness's cgroup offers the ``memory`` controller to its children, else
cgroup v1's ``memory`` hierarchy (what this project's Linux containers have). Elsewhere (a plain user
without delegation, macOS) there is no cgroup: ``RLIMIT_AS`` per process on Linux, and the polled
watch (``sandbox.watch``) everywhere. ``MLX_BENCH_SANDBOX_CGROUP=off`` turns the cgroup off (the
overshoot benchmark measures the polled path that way).
"""

from __future__ import annotations

import functools
import os
import platform
import secrets
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CGROUP_ENV", "CgroupRoot", "ProgramCgroup", "cgroup_root", "program_cgroup"]

CGROUP_ENV = "MLX_BENCH_SANDBOX_CGROUP"
PREFIX = "mlxb-"
# joins the cgroup, then becomes the sandbox command; $0 names it in error messages, $1 is cgroup.procs
JOIN_SCRIPT = 'echo $$ > "$1" || exit 125; shift; exec "$@"'


@dataclass(frozen=True)
class CgroupRoot:
    """Where per-program cgroups are created: a cgroup directory of the harness's own."""

    version: int  # 1 or 2
    path: Path


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount root, mount point, fs type, super options) of every cgroup mount."""
    found = []
    with suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[3], fields[4], tail[0], tail[2]))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per hierarchy: ``""`` for v2, else the controller list (e.g. ``"memory"``)."""
    paths = {}
    with suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            paths[controllers] = path
    return paths


def _under(mount_root: str, mount_point: str, path: str) -> Path:
    rel = path[len(mount_root):] if mount_root != "/" and path.startswith(mount_root) else path
    return Path(mount_point) / rel.lstrip("/")


def _usable(directory: Path, limit_file: str) -> bool:
    """Can this process create a child cgroup here that has ``limit_file``?"""
    probe = directory / f"{PREFIX}probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / limit_file).exists() and os.access(probe / "cgroup.procs", os.W_OK)
    finally:
        with suppress(OSError):
            probe.rmdir()


def _v2_root(mount_root: str, mount_point: str, own: str) -> Path | None:
    here = _under(mount_root, mount_point, own)
    try:
        if "memory" not in (here / "cgroup.controllers").read_text().split():
            return None
        if "memory" not in (here / "cgroup.subtree_control").read_text().split():
            # only possible where no process sits in this cgroup itself (the root, or a delegated leaf)
            (here / "cgroup.subtree_control").write_text("+memory")
    except OSError:
        return None
    return here if _usable(here, "memory.max") else None


@functools.cache
def cgroup_root() -> CgroupRoot | None:
    """The cgroup under which this harness makes per-program cgroups, or None where it cannot."""
    if os.environ.get(CGROUP_ENV, "").strip().lower() in ("off", "0", "no"):
        return None
    own = _own_paths()
    mounts = _mounts()
    for mount_root, mount_point, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            found = _v2_root(mount_root, mount_point, own[""])
            if found is not None:
                return _cleaned(CgroupRoot(2, found))
    for mount_root, mount_point, fstype, options in mounts:
        if fstype != "cgroup" or "memory" not in options.split(","):
            continue
        key = next((k for k in own if "memory" in k.split(",")), None)
        if key is None:
            continue
        here = _under(mount_root, mount_point, own[key])
        if _usable(here, "memory.limit_in_bytes"):
            return _cleaned(CgroupRoot(1, here))
    return None


def _cleaned(root: CgroupRoot) -> CgroupRoot:
    """Remove empty per-program cgroups a crashed harness left behind (their harness pid is gone)."""
    with suppress(OSError):
        for child in root.path.glob(f"{PREFIX}*-*"):
            owner = child.name[len(PREFIX):].split("-", 1)[0]
            if owner.isdigit() and not _alive(int(owner)):
                with suppress(OSError):
                    child.rmdir()
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProgramCgroup:
    """One program's memory cgroup: created with its limit before the program, removed after it."""

    def __init__(self, root: CgroupRoot, limit_bytes: int) -> None:
        self.version = root.version
        self.limit_bytes = limit_bytes
        self.path = root.path / f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        self.path.mkdir()
        try:
            self._limit(limit_bytes)
        except OSError:
            self.remove()
            raise

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def _limit(self, limit: int) -> None:
        if self.version == 2:
            self._write("memory.max", str(limit))
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if (self.path / name).exists():
                    self._write(name, value)
            return
        self._write("memory.limit_in_bytes", str(limit))
        if (self.path / "memory.memsw.limit_in_bytes").exists():  # RAM plus swap: no escape into swap
            with suppress(OSError):
                self._write("memory.memsw.limit_in_bytes", str(limit))

    def wrap(self, command: list[str]) -> list[str]:
        """``command``, started inside this cgroup (the shell joins it, then execs the command)."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, "mlxb-cgroup", str(self.path / "cgroup.procs"), *command]

    def pids(self) -> list[int]:
        """Every process in the cgroup now (the program's whole tree, however it detached)."""
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def oom_kills(self) -> int:
        """How many processes the kernel killed for the cgroup's limit."""
        text = self._read("memory.events" if self.version == 2 else "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def peak_bytes(self) -> int | None:
        """The most memory the program's tree held at once (kernel-counted), where the kernel says."""
        text = self._read("memory.peak" if self.version == 2 else "memory.max_usage_in_bytes").strip()
        return int(text) if text.isdigit() else None

    def kill(self, rounds: int = 20) -> None:
        """SIGKILL every process in the cgroup, until it is empty or ``rounds`` run out."""
        if self.version == 2 and (self.path / "cgroup.kill").exists():
            with suppress(OSError):
                self._write("cgroup.kill", "1")
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self, wait_s: float = 2.0) -> None:
        """Kill what is left and remove the cgroup (a dying process keeps it busy for a moment)."""
        self.kill()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)


def program_cgroup(limit_bytes: int) -> ProgramCgroup | None:
    """A fresh memory cgroup for one program, or None where this machine offers none to the harness."""
    if platform.system() != "Linux":  # cgroups are Linux's (an emulated Mac must not get one)
        return None
    root = cgroup_root()
    if root is None:
        return None
    try:
        return ProgramCgroup(root, limit_bytes)
    except OSError:
        return None

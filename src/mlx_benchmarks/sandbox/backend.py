"""Which sandbox backend runs model-written programs here: chosen once, from platform facts.

Backends (``Backend``):

- ``bwrap``: Linux bubblewrap (root or not): read-only ``/``, hidden homes and ``/tmp``, fresh
  pid/net/ipc/uts namespaces.
- ``seatbelt``: macOS ``/usr/bin/sandbox-exec`` with a profile generated per program (``sandbox.seatbelt``);
  resolving it also refuses an interpreter the profile cannot open safely and runs the real profile
  once on the interpreter, so either problem stops the run before any generation.
- ``rlimit-root``: Linux as root without bubblewrap: the program runs as a uid of its own in fresh
  network and mount namespaces, with ``/tmp``, ``/var/tmp``, ``/dev/shm`` and the homes hidden.
- ``none``: no isolation at all; only with ``--confirm-run-unsafe-code``.

The choice is a pure function of ``PlatformFacts`` (``choose_backend``), so tests can hand it the
facts of a Mac or of a Linux user without bubblewrap. Where nothing isolates the filesystem and the
network, the choice is a one-line refusal (``SandboxUnavailable``, exit 2) that names what is missing.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
from dataclasses import dataclass

from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.sandbox import launch as launch
from mlx_benchmarks.sandbox import seatbelt as seatbelt
from mlx_benchmarks.sandbox.launch import Backend

__all__ = [
    "BACKENDS",
    "UNSAFE_FLAG",
    "Backend",
    "PlatformFacts",
    "SandboxUnavailable",
    "choose_backend",
    "current_backend",
    "detect_facts",
    "resolve_backend",
    "unsafe_notice",
]

BACKENDS: tuple[Backend, ...] = ("bwrap", "seatbelt", "rlimit-root", "none")
UNSAFE_FLAG = "--confirm-run-unsafe-code"
FORCE_ENV = "MLX_BENCH_SANDBOX"
_HOW_TO_OVERRIDE = f"or pass {UNSAFE_FLAG} to run model-written code with no protection"


class SandboxUnavailable(PrerequisiteError):
    """No backend that isolates the filesystem and the network works on this machine."""


@dataclass(frozen=True)
class PlatformFacts:
    """What the backend choice depends on; every field comes from one probe or system call."""

    system: str  # platform.system(): "Linux", "Darwin", ...
    euid: int
    sandbox_exec: str | None = None  # /usr/bin/sandbox-exec when it exists (PATH is never searched)
    seatbelt_works: bool = False  # sandbox-exec applied a trivial profile
    bwrap: str | None = None  # shutil.which("bwrap")
    bwrap_works: bool = False  # bubblewrap created the namespaces we ask for
    namespaces_work: bool = False  # as root: unshare(network + mount) works (no CAP_SYS_ADMIN in many containers)


def detect_facts() -> PlatformFacts:
    """This machine's facts; the probes run only where they can matter."""
    system = platform.system()
    euid = os.geteuid()
    if system == "Darwin":
        pinned = seatbelt.sandbox_exec_path()
        sandbox_exec = pinned if os.access(pinned, os.X_OK) else None
        return PlatformFacts(system, euid, sandbox_exec=sandbox_exec,
                             seatbelt_works=sandbox_exec is not None and launch.seatbelt_works(sandbox_exec))
    if system != "Linux":
        return PlatformFacts(system, euid)
    bwrap = shutil.which("bwrap")
    bwrap_ok = bwrap is not None and launch.bwrap_works()
    namespaces = euid == 0 and not bwrap_ok and launch.namespaces_work()
    return PlatformFacts(system, euid, bwrap=bwrap, bwrap_works=bwrap_ok, namespaces_work=namespaces)


def _refusal(facts: PlatformFacts) -> str:
    """One line: why no sandbox works here and how to get one."""
    lead = "no code sandbox, so the code suites will not run model-written programs"
    if facts.system == "Darwin":
        if facts.sandbox_exec is None:
            return (f"{lead}: sandbox-exec is missing (macOS ships it as /usr/bin/sandbox-exec, the only one "
                    f"used; check `ls -l /usr/bin/sandbox-exec`), {_HOW_TO_OVERRIDE}")
        return (f"{lead}: {facts.sandbox_exec} cannot apply a profile here (already inside another sandbox? "
                f"try `sandbox-exec -p '(version 1)(allow default)' /usr/bin/true`), {_HOW_TO_OVERRIDE}")
    if facts.system == "Linux":
        if facts.bwrap is None and facts.euid != 0:
            return (f"{lead}: bubblewrap is not installed (apt-get install bubblewrap, "
                    f"or dnf install bubblewrap), {_HOW_TO_OVERRIDE}")
        if facts.bwrap is None:
            return (f"{lead}: bubblewrap is not installed and this root process cannot create network and "
                    f"mount namespaces (a container without CAP_SYS_ADMIN?): apt-get install bubblewrap, "
                    f"{_HOW_TO_OVERRIDE}")
        return (f"{lead}: bubblewrap cannot create namespaces here (unprivileged user namespaces disabled, "
                f"e.g. by sysctl kernel.unprivileged_userns_clone or an AppArmor rule; try "
                f"`bwrap --ro-bind / / --unshare-all true`), {_HOW_TO_OVERRIDE}")
    return f"{lead}: no sandbox backend exists for {facts.system or 'this system'}, {_HOW_TO_OVERRIDE}"


def _available(facts: PlatformFacts) -> list[Backend]:
    """The isolating backends that work with these facts, best first."""
    found: list[Backend] = []
    if facts.system == "Darwin" and facts.sandbox_exec and facts.seatbelt_works:
        found.append("seatbelt")
    if facts.system == "Linux" and facts.bwrap and facts.bwrap_works:
        found.append("bwrap")
    if facts.system == "Linux" and facts.euid == 0 and facts.namespaces_work:
        found.append("rlimit-root")
    return found


def choose_backend(facts: PlatformFacts, *, forced: str = "", allow_unsafe: bool = False) -> Backend:
    """The backend for these facts; ``forced`` (from MLX_BENCH_SANDBOX) must be one that works.

    Raises ``SandboxUnavailable`` when nothing isolates and ``allow_unsafe`` is false, and
    ``UsageError`` for a forced backend that is unknown or does not work here.
    """
    forced = forced.strip().lower()
    available = _available(facts)
    if forced:
        if forced not in BACKENDS:
            raise UsageError(f"{FORCE_ENV}={forced!r}: choose one of {', '.join(BACKENDS)}")
        if forced == "none":
            if not allow_unsafe:
                raise UsageError(f"{FORCE_ENV}=none runs model-written code unprotected: it needs {UNSAFE_FLAG}")
            return "none"
        if forced not in available:
            working = ", ".join(available) or "none"
            raise SandboxUnavailable(f"{FORCE_ENV}={forced}, but that sandbox does not work here (working: {working})")
        return forced  # checked against BACKENDS above
    if available:
        return available[0]
    if allow_unsafe:
        return "none"
    raise SandboxUnavailable(_refusal(facts))


@functools.cache
def _facts() -> PlatformFacts:
    return detect_facts()


def resolve_backend(*, allow_unsafe: bool = False) -> Backend:
    """The backend for this process (facts probed once); see ``choose_backend``.

    The code suites call this before any generation, so everything that would make every program
    fail is refused here, in one line: for seatbelt, an interpreter whose installation the profile
    would have to open too widely, or one that does not start under the profile.
    """
    chosen = choose_backend(_facts(), forced=os.environ.get(FORCE_ENV, ""), allow_unsafe=allow_unsafe)
    if chosen == "seatbelt":
        _check_seatbelt(sandbox_exec_path(), launch.sandbox_python("seatbelt"))
    return chosen


def _check_seatbelt(sandbox_exec: str, python: str) -> None:
    seatbelt.check_interpreter(python, home=os.environ.get("HOME"))
    problem = seatbelt.probe_profile(sandbox_exec, python)
    if problem is not None:
        raise PrerequisiteError(f"the seatbelt sandbox does not work with this Python: {problem}; "
                                "set MLX_BENCH_SANDBOX_PYTHON to another interpreter (docs/sandbox.md)")


def current_backend() -> Backend:
    """The isolating backend for this process; ``SandboxUnavailable`` where there is none."""
    return resolve_backend(allow_unsafe=False)


def reset() -> None:
    """Forget the probed facts (tests that change the platform facts call this)."""
    _facts.cache_clear()
    launch.reset_probes()
    seatbelt.probe_profile.cache_clear()


def sandbox_exec_path() -> str:
    """The ``sandbox-exec`` the facts found: always /usr/bin/sandbox-exec outside tests."""
    return _facts().sandbox_exec or seatbelt.sandbox_exec_path()


def unsafe_notice() -> str:
    """The line an envelope's errors[] carries when programs ran with no sandbox."""
    return (f"model-written programs ran with NO sandbox ({UNSAFE_FLAG}): they could read and write this "
            f"user's files and reach the network; no sandbox backend works here")

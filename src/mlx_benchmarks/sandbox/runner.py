"""The trusted first stage inside the sandbox: drop privileges, limit itself, run one program, report.

This file is never imported by the harness: its source is handed to a fresh interpreter with ``-c``,
so it may use the standard library only. It writes one JSON line describing how the program ended
to a pipe the harness reads (``report_fd``); stdout and stderr stay the program's own.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import resource
import sys
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 8192, 16384, 1 << 18)
# exceptions that mean "a resource limit was hit", not "the program is wrong"
RESOURCE_ERRORS = (MemoryError, BlockingIOError)


class IsolationFailed(Exception):
    """rlimit-root could not build its namespaces: the program must not run."""


def _libc_call(name: str, *args: Any) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    encoded = [a.encode() if isinstance(a, str) else a for a in args]
    if getattr(libc, name)(*encoded) != 0:
        err = ctypes.get_errno()
        raise IsolationFailed(f"{name}{tuple(args)!r}: {os.strerror(err)}")


def _tmpfs(path: str, scratch: bool) -> None:
    # scratch folders (/tmp and the like) stay writable for the program; hidden homes are read-only to it
    mode = "1777" if scratch else "0755"
    _libc_call("mount", "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=64m")


def _isolate(spec: dict[str, Any]) -> None:
    """As root (rlimit-root): fresh network and mount namespaces; the writable and home directories
    become empty tmpfs mounts that vanish with the namespace; the program's own folder stays visible."""
    _libc_call("unshare", CLONE_NEWNET | CLONE_NEWNS)
    _libc_call("mount", None, "/", None, MS_REC | MS_PRIVATE, None)
    hide: list[str] = list(spec["hide"])
    scratch = set(spec.get("scratch", ()))
    work: str | None = spec.get("work")
    covering = [h for h in hide if work and (work == h or work.startswith(h + "/"))]
    stage = None
    if work and covering:
        # park the program's folder on a mount of its own, then move it into the empty tmpfs
        # a hidden home if possible: a scratch folder used as the stage would lose its write access
        candidates = sorted((h for h in hide if h not in covering), key=lambda h: h in scratch)
        spare = candidates[0] if candidates else None
        if spare is None:
            raise IsolationFailed(f"no spare directory to stage {work}")
        _tmpfs(spare, False)
        stage = os.path.join(spare, ".mlxb-stage")
        os.mkdir(stage)
        _libc_call("mount", work, stage, None, MS_BIND | MS_REC, None)
    for path in hide:
        if stage is None or not stage.startswith(path + "/"):
            _tmpfs(path, path in scratch)
    if stage is not None and work is not None:
        os.makedirs(work, exist_ok=True)
        _libc_call("mount", stage, work, None, MS_MOVE, None)
        os.chdir(work)
    # belt and braces: the rest of "/" read-only (a bind remount; some container roots refuse it)
    with contextlib.suppress(IsolationFailed):
        _libc_call("mount", None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _set_limits(cfg: dict[str, Any]) -> None:
    # macOS does not enforce RLIMIT_AS (the harness polls memory instead) and may refuse some limits
    limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, cfg["fsize_bytes"])]
    if cfg.get("as_bytes"):
        limits.append((resource.RLIMIT_AS, cfg["as_bytes"]))
    if cfg.get("nproc"):
        limits.append((resource.RLIMIT_NPROC, cfg["nproc"]))
    for which, value in limits:
        _, hard = resource.getrlimit(which)
        soft = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (soft, soft))
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # the one limit every platform enforces


def main() -> int:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    report_fd = cfg.get("report_fd")  # none when the harness only probes the isolation
    if report_fd is not None:
        os.set_inheritable(report_fd, False)
    owner = os.getpid()

    def send(outcome: str, **extra: Any) -> None:
        # forked children of the program run this code too; only the first process reports
        if os.getpid() != owner or report_fd is None:
            return
        # a failed report is not fatal: the harness falls back to the exit status
        with contextlib.suppress(BaseException):
            os.write(report_fd, (json.dumps({"outcome": outcome, **extra}) + "\n").encode())

    if cfg.get("isolate"):
        try:
            _isolate(cfg["isolate"])
        except (IsolationFailed, OSError) as exc:
            send("isolation_failed", message=str(exc)[:300])
            return 3
        if cfg.get("probe_isolation"):
            return 0
    if cfg.get("uid") is not None:
        _drop_privileges(int(cfg["uid"]), int(cfg["gid"]))
    _set_limits(cfg)

    with open(cfg["program"], encoding="utf-8", errors="replace") as handle:
        source = handle.read()
    try:
        code = compile(source, "main.py", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: source with NUL bytes
        traceback.print_exception(exc, limit=0)
        send("syntax_error", error=type(exc).__name__, message=str(exc)[:500])
        return 1

    sys.argv = ["main.py"]
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}
    try:
        exec(code, namespace)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        _flush()
        send("exit", code=status)
        raise
    except BaseException as exc:
        with contextlib.suppress(BaseException):  # printing may itself fail under a memory limit
            traceback.print_exc()
        kind = "assertion" if isinstance(exc, AssertionError) else "exception"
        # Python ignores SIGXFSZ, so the file size limit shows up as EFBIG
        if isinstance(exc, RESOURCE_ERRORS) or (isinstance(exc, OSError) and exc.errno == errno.EFBIG):
            kind = "resource"
        _flush()
        send(kind, error=type(exc).__name__, message=str(exc)[:500])
        os._exit(1)
    _flush()
    send("completed")
    return 0


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # the program may have closed or replaced it
            stream.flush()


if __name__ == "__main__":
    sys.exit(main())

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

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
# exceptions that mean "a resource limit was hit", not "the program is wrong"
RESOURCE_ERRORS = (MemoryError, BlockingIOError)


def _unshare_network(privileged: bool) -> bool:
    """A fresh, empty network namespace (loopback down): no connection can leave the sandbox."""
    flags = CLONE_NEWNET if privileged else CLONE_NEWUSER | CLONE_NEWNET
    try:
        return ctypes.CDLL(None, use_errno=True).unshare(flags) == 0  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return False


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _set_limits(cfg: dict[str, Any]) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(cfg["as_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    fsize = int(cfg["fsize_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    if cfg.get("nproc"):
        nproc = int(cfg["nproc"])
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def main() -> int:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    report_fd = int(cfg["report_fd"])
    os.set_inheritable(report_fd, False)
    owner = os.getpid()

    def send(outcome: str, **extra: Any) -> None:
        # forked children of the program run this code too; only the first process reports
        if os.getpid() != owner:
            return
        # a failed report is not fatal: the harness falls back to the exit status
        with contextlib.suppress(BaseException):
            os.write(report_fd, (json.dumps({"outcome": outcome, **extra}) + "\n").encode())

    if cfg.get("unshare_net"):
        send("network", isolated=_unshare_network(privileged=cfg.get("uid") is not None))
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

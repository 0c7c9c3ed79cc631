"""How a sandboxed program ended: the runner's report, the exit status, and the verdict.

The taxonomy (``SandboxResult.status``):
``passed`` | ``failed`` (assertion or non-zero exit) | ``syntax_error`` | ``runtime_error`` |
``timeout`` (wall clock or CPU limit) | ``killed`` (memory, file size or process limit).
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, replace
from typing import Any, Literal

from mlx_benchmarks.sandbox.launch import Backend

__all__ = ["SandboxResult", "Status", "classify", "read_report", "tail"]

Status = Literal["passed", "failed", "syntax_error", "runtime_error", "timeout", "killed"]
TAIL_BYTES = 4096
_REPORT_TO_STATUS: dict[str, Status] = {
    "syntax_error": "syntax_error",
    "assertion": "failed",
    "exception": "runtime_error",
    "resource": "killed",
}


@dataclass(frozen=True)
class SandboxResult:
    """How one sandboxed program ended."""

    status: Status
    duration_s: float
    exit_code: int | None = None  # the program's exit status, when it exited on its own
    signal: str | None = None  # e.g. "SIGKILL", when a signal ended it
    error_type: str | None = None  # e.g. "AssertionError", "ZeroDivisionError", "MemoryError"
    error: str | None = None  # a one-line explanation
    stdout: str = ""  # tail
    stderr: str = ""  # tail
    completed: bool = False  # the program ran to its last line (no early exit)
    sandbox: str = ""  # the backend: "bwrap", "seatbelt", "rlimit-root" or "none"
    limit: str | None = None  # which limit ended it: "memory" (the harness's watch), "wall", "cpu"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        """A plain dict for sample records."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def read_report(fd: int) -> dict[str, Any]:
    """The runner's last report line; non-blocking, because an escaped child may hold the pipe."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except BlockingIOError:
        pass
    report: dict[str, Any] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            report = item
    return report


def tail(path: str) -> str:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - TAIL_BYTES))
        return handle.read().decode("utf-8", "replace")


def _signal_of(returncode: int, kind: Backend) -> int | None:
    if returncode < 0:
        return -returncode
    # bwrap reports a child killed by signal N as exit status 128 + N
    if kind == "bwrap" and returncode > 128:
        return returncode - 128
    return None


def classify(
    returncode: int,
    timed_out: bool,
    report: dict[str, Any],
    duration: float,
    stdout: str,
    stderr: str,
    kind: Backend,
    timeout_s: float,
) -> SandboxResult:
    base = SandboxResult(
        status="runtime_error", duration_s=duration, stdout=stdout, stderr=stderr, sandbox=kind
    )
    outcome = report.get("outcome")
    if timed_out:
        return replace(base, status="timeout", signal="SIGKILL", limit="wall",
                       error=f"wall-clock limit of {timeout_s:g}s")
    if outcome == "completed":
        return replace(base, status="passed", exit_code=0, completed=True)
    if outcome == "exit":
        code = int(report.get("code", 1))
        status: Status = "passed" if code == 0 else "failed"
        return replace(
            base, status=status, exit_code=code, error_type="SystemExit", error=f"exit status {code}"
        )
    if outcome in _REPORT_TO_STATUS:
        error_type = str(report.get("error", ""))
        message = f"{error_type}: {report.get('message', '')}".rstrip(": ")
        return replace(
            base,
            status=_REPORT_TO_STATUS[outcome],
            exit_code=returncode,
            error_type=error_type,
            error=message,
        )
    signum = _signal_of(returncode, kind)
    if signum is not None:
        name = _signal_name(signum)
        if signum == signal.SIGXCPU:
            return replace(base, status="timeout", signal=name, limit="cpu", error="CPU time limit")
        status = "killed" if signum in (signal.SIGKILL, signal.SIGXFSZ) else "runtime_error"
        return replace(base, status=status, signal=name, error=f"ended by {name}")
    if returncode == 0:  # os._exit(0) before the end: ran, but we cannot say it finished
        return replace(base, status="passed", exit_code=0, error="exited without finishing")
    return replace(base, status="failed", exit_code=returncode, error=f"exit status {returncode}")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"

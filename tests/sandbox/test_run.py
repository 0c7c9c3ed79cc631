"""The sandbox runs every reference solution, classifies failures, and contains hostile programs."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox.run import check_many, check_solution, run_program, sandbox_kind
from tests.sandbox.backends import ISOLATING

REPO = Path(__file__).resolve().parents[2]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (to plant a file in /root)")


def test_sandbox_kind_is_bwrap_where_bubblewrap_works() -> None:
    assert sandbox_kind() in ("bwrap", "seatbelt", "rlimit-root")
    assert (sandbox_kind() == "bwrap") == sandbox_launch.bwrap_works()


def _reference_jobs(limit: int | None) -> list[tuple[str, CodeSpec]]:
    records = select(load_dataset("humaneval") + load_dataset("mbpp"), limit, seed=0)
    return [(r.id, r.code) for r in records if r.code is not None]


def _check_references(jobs: list[tuple[str, CodeSpec]], kind: str) -> None:
    # a generous wall clock: the point is correctness, and CI machines are shared
    results = check_many([(c, c.canonical_solution) for _, c in jobs], workers=2, timeout_s=60, kind=kind)  # type: ignore[arg-type]
    failures = {rid: (x.status, x.error) for (rid, _), x in zip(jobs, results, strict=True) if x.status != "passed"}
    assert failures == {}
    assert all(x.completed and x.sandbox == kind for x in results)


@pytest.mark.slow
def test_all_664_reference_solutions_pass_in_the_default_sandbox() -> None:
    jobs = _reference_jobs(None)
    assert len(jobs) == 664
    _check_references(jobs, sandbox_kind())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ISOLATING)
def test_a_seeded_sample_of_reference_solutions_passes_in_each_sandbox(kind: str) -> None:
    jobs = _reference_jobs(100)
    assert len(jobs) == 100
    _check_references(jobs, kind)


SPEC = CodeSpec(entry_point="add", test="def check(candidate):\n    assert candidate(2, 3) == 5\n", canonical_solution="")


@pytest.mark.parametrize("kind", ISOLATING)
@pytest.mark.parametrize(
    ("program", "status", "error_type"),
    [
        ("def add(a, b):\n    return a + b\n", "passed", None),
        ("def add(a, b):\n    return a - b\n", "failed", "AssertionError"),
        ("def add(a, b)\n    return a + b\n", "syntax_error", "SyntaxError"),
        ("def add(a, b):\n  return a +\n", "syntax_error", "SyntaxError"),
        ("def add(a, b):\n    return a / 0\n", "runtime_error", "ZeroDivisionError"),
        ("def plus(a, b):\n    return a + b\n", "runtime_error", "NameError"),
        ("def add(a, b):\n    while True:\n        pass\n", "timeout", "HarnessTimeout"),
        ("import sys\nsys.exit(0)\ndef add(a, b):\n    return 0\n", "failed", "SystemExit"),
        ("import os\nos._exit(0)\n", "failed", None),
        ("def add(a, b):\n    return len(bytearray(4 * 1024**3))\n", "killed", "MemoryError"),
    ],
)
def test_failure_taxonomy(kind: str, program: str, status: str, error_type: str | None) -> None:
    result = check_solution(SPEC, program, timeout_s=3, kind=kind)  # type: ignore[arg-type]
    assert (result.status, result.error_type) == (status, error_type), result
    assert result.passed == (status == "passed")
    assert result.to_json()["status"] == status


def _assert_harness_healthy() -> None:
    """The test process is alive and can still start processes."""
    assert subprocess.run(["/bin/sh", "-c", "exit 7"], check=False).returncode == 7


def _live_sandbox_processes() -> list[int]:
    """Live processes of this test process's sandbox uids (zombies are dead: a container's init
    that does not reap them is outside our control, and the uid is retired)."""
    pool = sandbox_launch.uid_pool()
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        uids = proc.info["uids"]
        if uids is not None and pool.owns(uids.real) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found


@pytest.mark.parametrize("kind", ISOLATING)
def test_fork_bomb_is_contained(kind: str) -> None:
    started = time.monotonic()
    bomb = "import os\nwhile True:\n    os.fork()\n"
    result = run_program(bomb, timeout_s=5, kind=kind)  # type: ignore[arg-type]
    assert result.status == "killed" and result.error_type == "BlockingIOError"
    assert time.monotonic() - started < 30
    _assert_harness_healthy()
    time.sleep(0.2)
    assert _live_sandbox_processes() == []


@pytest.mark.parametrize("kind", ISOLATING)
def test_leftover_background_processes_are_killed(kind: str) -> None:
    program = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nprint('parent done')\n"
    result = run_program(program, timeout_s=5, kind=kind)  # type: ignore[arg-type]
    assert result.status == "passed" and "parent done" in result.stdout
    assert result.duration_s < 5
    time.sleep(0.2)
    assert _live_sandbox_processes() == []


@pytest.mark.parametrize("kind", ISOLATING)
def test_memory_bomb_and_infinite_loop(kind: str) -> None:
    grow = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))\n"
    assert run_program(grow, memory_mb=256, kind=kind).status == "killed"  # type: ignore[arg-type]
    started = time.monotonic()
    loop = run_program("while True:\n    pass\n", timeout_s=1.5, kind=kind)  # type: ignore[arg-type]
    assert loop.status == "timeout" and 1.5 <= time.monotonic() - started < 10
    huge = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    assert run_program(huge, file_size_mb=1, timeout_s=5, kind=kind).status == "killed"  # type: ignore[arg-type]
    _assert_harness_healthy()


@pytest.mark.parametrize("kind", ISOLATING)
def test_writes_outside_the_temporary_directory_fail(kind: str, tmp_path: Path) -> None:
    targets = ["/etc/mlxb-sandbox-probe", "/root/mlxb-sandbox-probe", str(REPO / "mlxb-sandbox-probe"), str(tmp_path / "probe")]
    program = (
        f"targets = {targets!r}\n"
        "for path in targets:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print('DENIED', path, type(exc).__name__)\n"
        "open('inside.txt', 'w').write('ok')\n"
        "print('INSIDE', open('inside.txt').read())\n"
    )
    result = run_program(program, kind=kind)  # type: ignore[arg-type]
    assert result.status == "passed", result
    assert "WROTE" not in result.stdout and result.stdout.count("DENIED") == len(targets)
    assert "INSIDE ok" in result.stdout
    assert not any(Path(t).exists() for t in targets)


@pytest.mark.parametrize("kind", ISOLATING)
def test_no_network_to_a_local_listener(kind: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        program = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
            "    print('CONNECTED')\n"
            "except OSError as exc:\n"
            "    print('BLOCKED', type(exc).__name__)\n"
        )
        result = run_program(program, kind=kind)  # type: ignore[arg-type]
        assert "BLOCKED" in result.stdout and "CONNECTED" not in result.stdout
        with pytest.raises(TimeoutError):
            server.accept()


@pytest.mark.parametrize("kind", ISOLATING)
def test_home_secrets_and_environment_are_unreadable(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    secret = home / ".netrc"
    secret.write_text("machine example password hunter2-home\n")
    secret.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MLXB_TEST_TOKEN", "hunter2-env")
    program = (
        "import os\n"
        "print(sorted(os.environ))\n"
        "print('ENV', os.environ.get('MLXB_TEST_TOKEN'))\n"
        "try:\n"
        f"    print('READ', open({str(secret)!r}).read())\n"
        "except OSError as exc:\n"
        "    print('DENIED', type(exc).__name__)\n"
    )
    result = run_program(program, kind=kind)  # type: ignore[arg-type]
    assert "DENIED" in result.stdout and "ENV None" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


@ROOT_ONLY
@pytest.mark.parametrize("kind", ISOLATING)
def test_root_home_is_unreadable(kind: str) -> None:
    secret = Path("/root") / f".mlxb-sandbox-secret-{os.getpid()}"
    secret.write_text("hunter2-root\n")
    try:
        secret.chmod(0o644)  # readable by anyone who can reach it: only /root's own mode protects it
        program = (
            "try:\n"
            f"    print('READ', open({str(secret)!r}).read())\n"
            "except OSError as exc:\n"
            "    print('DENIED', type(exc).__name__)\n"
        )
        result = run_program(program, kind=kind)  # type: ignore[arg-type]
        assert "DENIED" in result.stdout and "hunter2" not in result.stdout
    finally:
        secret.unlink()


def test_the_parent_reads_only_lines_with_its_nonce() -> None:
    from mlx_benchmarks.sandbox.runner import PARTIAL_LINE_LIMIT, ChildLines

    lines = ChildLines(b"n0nce")
    lines.feed(b'{"outcome": "completed"}\ncompleted\nother completed\n\nn0n')  # forgeries, then half a line
    assert lines.final is None
    lines.feed(b"ce ready\t7.5\n" + b"x" * (PARTIAL_LINE_LIMIT + 1))  # an endless line of noise
    lines.feed(b"n0nce completed\n")  # the tail of that noise, not a line of its own
    assert (lines.ready, lines.final) == (7.5, None)
    lines.feed(b"\nn0nce assertion\tAssertionError\t\nn0nce completed\n")
    assert lines.final == ["assertion", "AssertionError", ""]  # the first verdict line counts


def test_the_parent_trusts_completed_only_with_a_clean_exit() -> None:
    from mlx_benchmarks.sandbox.runner import judge

    exited = {code: code << 8 for code in (0, 1)}  # wait statuses
    assert judge(exited[0], False, ["completed"], "humaneval")["outcome"] == "completed"
    assert judge(exited[1], False, ["completed"], "humaneval")["outcome"] == "no_verdict"
    assert judge(9, False, ["completed"], "humaneval") | {"mode": None} == {
        "mode": None, "code": None, "signal": 9, "outcome": "signal"}
    assert judge(exited[0], False, None, "humaneval")["outcome"] == "no_verdict"
    assert judge(exited[0], True, ["completed"], "humaneval")["outcome"] == "timeout"
    assert judge(exited[1], False, ["exit", "SystemExit", "3"], "script")["code"] == 3

"""A wrong program cannot forge a pass: the battery of forgeries (tests/sandbox/forgeries.py) on every backend.

Each attack runs for real inside the sandbox (its ``ATTACK`` line on stderr proves it ran) against a
wrong ``add``; the verdict must not be ``passed``. The control: the same check passes the right ``add``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.sandbox.run import check_many, check_solution
from tests.sandbox.as_nobody import cannot_run_as_nobody, run_as_nobody
from tests.sandbox.backends import ISOLATING
from tests.sandbox.forgeries import ATTACKS, NEEDS_SANDBOX, program

SPEC = CodeSpec(entry_point="add", test="def check(candidate):\n    assert candidate(2, 3) == 5\n", canonical_solution="")
NOT_A_PASS = ("failed", "runtime_error", "timeout", "killed")


def _battery(kind: str, names: list[str]) -> dict[str, Any]:
    results = check_many([(SPEC, program(name)) for name in names], workers=2, kind=kind)  # type: ignore[arg-type]
    return dict(zip(names, results, strict=True))


@pytest.mark.parametrize("kind", ISOLATING)
def test_every_forgery_fails_in_the_sandbox(kind: str) -> None:
    results = _battery(kind, list(ATTACKS))
    for name, result in results.items():
        assert f"ATTACK {name}" in result.stderr, (name, result)  # the attack really ran
        assert result.status in NOT_A_PASS and not result.passed, (name, result)
    # what the sandbox refused the program (so the attacks were refused, not just ignored)
    assert "refused 1" in results["kill_parent"].stderr  # EPERM: the parent keeps a uid of its own
    assert re.search(r"ptrace_parent 16 -1 (1|13)\b", results["ptrace_parent"].stderr)
    # SIGCONT within one session is always allowed (and harmless); every other signal is refused
    assert re.findall(r"'(SIG\w+)': 'sent'", results["signals_to_parent"].stderr) in ([], ["SIGCONT"])
    # the parent's fd folder cannot be listed; the only fds written are the program's own stdio
    assert " 13\n" in results["proc_fds"].stderr  # EACCES
    written = re.search(r"wrote (\[.*\])", results["proc_fds"].stderr)
    assert written and all(re.fullmatch(r"/proc/\w+/fd/[012]", path) for path in eval(written.group(1)))
    # the early exits and forged lines are plain failures (the tests never finished)
    for name in ("fd_spray_then_exit0", "os_exit0_before_tests", "sys_exit_before_tests", "reexec_runner",
                 "patch_harness", "modules_and_builtins", "os_exit0_inside_the_tests", "thread_outlives_the_program"):
        assert results[name].status == "failed", (name, results[name])


def test_forgeries_without_a_sandbox_fail_too() -> None:
    """With ``none`` the program runs as the harness's own user: attacks on the runner's process and on
    files do not apply (docs/sandbox.md); everything else still fails."""
    names = [name for name in ATTACKS if name not in NEEDS_SANDBOX]
    for name, result in _battery("none", names).items():
        assert f"ATTACK {name}" in result.stderr, (name, result)
        assert result.status in NOT_A_PASS and not result.passed, (name, result)


@pytest.mark.parametrize("kind", ISOLATING)
def test_the_right_answer_still_passes_beside_the_attack_code(kind: str) -> None:
    """Control: the prelude itself does not fail a program; the right ``add`` with a __main__ block passes."""
    right = program("signals_to_parent").replace("return a - b", "return a + b")
    main_block = "def add(a, b):\n    return a + b\n\nif __name__ == '__main__':\n    print(input())\n    exit(1)\n"
    # with the signals refused (the parent keeps a uid of its own), the program carries on to the tests
    for code in (main_block, "def add(a, b):\n    return a + b\n", right):
        assert check_solution(SPEC, code, kind=kind).status == "passed"  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(cannot_run_as_nobody() is not None, reason=str(cannot_run_as_nobody()))
def test_every_forgery_fails_under_bwrap_as_a_normal_user(tmp_path: Path) -> None:
    """Unprivileged, the runner's parent and the program share a uid: the program may signal the parent
    (SIGSTOP ends as a timeout, SIGKILL as no verdict) but still cannot trace it, read its fds, or pass."""
    done = run_as_nobody("forgeries.py", tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["backend"], report["euid"]) == ("bwrap", 65534)
    verdicts = report["verdicts"]
    assert set(verdicts) == set(ATTACKS) - {"files"}
    assert {name: v["status"] for name, v in verdicts.items() if v["status"] not in NOT_A_PASS} == {}
    assert all(f"ATTACK {name}" in v["stderr"] for name, v in verdicts.items())
    assert re.search(r"ptrace_parent 16 -1 (1|13)\b", verdicts["ptrace_parent"]["stderr"])

"""The seatbelt backend, checked on Linux: what its generated SBPL profile allows and denies (parsed,
not grepped), and its launch path under macOS emulation with a sandbox-exec test double.

Nothing here has run under real Seatbelt: the double (tests/sandbox/fake_sandbox_exec) confines
nothing. What it proves is the harness's side: the command line, the memory watch that replaces
RLIMIT_AS on macOS, the sweep of leftover processes, and no reads of /proc.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeAlias

import psutil
import pytest

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.sandbox import backend as sandbox_backend
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox.run import run_program
from mlx_benchmarks.sandbox.seatbelt import seatbelt_command, seatbelt_profile
from tests.platform_emulation import MAC_TOOLS, MacFacts, emulate_macos

Form: TypeAlias = str | list["Form"]
DOUBLE = Path(__file__).with_name("fake_sandbox_exec")
TOKEN = re.compile(r'\(|\)|"(?:[^"\\]|\\.)*"|#"(?:[^"\\]|\\.)*"|;[^\n]*|[^\s()"]+')


def parse_sbpl(text: str) -> list[Form]:
    """SBPL's S-expressions as nested lists; strings keep their quotes, comments are dropped."""
    stack: list[list[Form]] = [[]]
    for token in TOKEN.findall(text):
        if token.startswith(";"):
            continue
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0]


def rules(forms: list[Form], action: str) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """(operations, [(filter, path)]) of every ``(action op... (filter "path")...)`` rule."""
    found = []
    for form in forms:
        if not isinstance(form, list) or form[0] != action:
            continue
        ops = [f for f in form[1:] if isinstance(f, str)]
        found.append((ops, _path_filters([f for f in form[1:] if isinstance(f, list)])))
    return found


def _path_filters(filters: list[Form]) -> list[tuple[str, str]]:
    """(literal|subpath, path) pairs, looking inside ``(require-all ...)``."""
    out: list[tuple[str, str]] = []
    for f in filters:
        if not isinstance(f, list):
            continue
        if f[0] == "require-all":
            out += _path_filters(f[1:])
        elif f[0] in ("literal", "subpath") and isinstance(f[1], str):
            out.append((f[0], f[1].strip('"')))
    return out


def allowed_paths(forms: list[Form], operation: str) -> list[tuple[str, str]]:
    """Every (filter, path) an allow rule grants for ``operation`` (wildcards such as file-read* count)."""
    out = []
    for ops, filters in rules(forms, "allow"):
        if any(op == operation or (op.endswith("*") and operation.startswith(op[:-1])) for op in ops):
            out.extend(filters)
    return out


@pytest.fixture
def profile_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Form], Path, Path]:
    home = Path(os.path.realpath(Path.home()))
    work = tmp_path / "work"
    work.mkdir()
    text = seatbelt_profile(work=str(work), interpreter=sandbox_launch.base_interpreter(), home=str(home))
    return parse_sbpl(text), Path(os.path.realpath(work)), home


def test_deny_by_default_and_no_network(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, _, _ = profile_forms
    assert forms[0] == ["version", "1"] and ["deny", "default"] in forms
    assert ["allow", "default"] not in forms
    assert ["deny", "network*"] in forms
    granted = [op for ops, _ in rules(forms, "allow") for op in ops]
    assert not [op for op in granted if op.startswith("network") or op in ("default", "file*", "mach*")]
    assert "process-fork" in granted


def test_writes_only_in_the_programs_own_folder(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, work, _ = profile_forms
    writes = allowed_paths(forms, "file-write-data") + allowed_paths(forms, "file-write-create")
    assert set(allowed_paths(forms, "file-write-create")) == {("subpath", str(work))}
    assert set(writes) == {("subpath", str(work)), ("literal", "/dev/null")}


def test_reads_nothing_of_home_but_the_interpreter(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, work, home = profile_forms
    interpreter_roots = {os.path.realpath(sys.base_prefix), os.path.dirname(sandbox_launch.base_interpreter())}
    reads = allowed_paths(forms, "file-read-data")
    assert ("subpath", str(work)) in reads
    for kind, path in reads:
        assert path != "/" and not (str(home) + "/").startswith(path.rstrip("/") + "/"), path  # not home or above
        if path.startswith(str(home) + "/"):
            assert kind == "subpath" and any(path == r or path.startswith(r + "/") for r in interpreter_roots), path
    # folders above the allowed ones may be stat-ed (realpath, getcwd), never listed or read
    metadata_only = set(allowed_paths(forms, "file-read-metadata")) - set(reads)
    assert metadata_only and all(kind == "literal" for kind, _ in metadata_only)
    assert ("literal", str(home)) not in reads


def test_only_the_interpreter_may_be_executed(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, _, _ = profile_forms
    execs = allowed_paths(forms, "process-exec")
    assert execs and execs[0] == ("literal", sandbox_launch.base_interpreter())
    assert all(kind == "literal" for kind, _ in execs)


def test_a_too_broad_interpreter_or_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = sandbox_launch.base_interpreter()
    with pytest.raises(PrerequisiteError, match="private folder"):
        seatbelt_profile(work="/tmp", interpreter=python, home=str(tmp_path))
    # an interpreter installed straight in the home folder would open all of it
    with pytest.raises(PrerequisiteError, match="would have to open"):
        seatbelt_profile(work=str(tmp_path), interpreter=python, home=os.path.realpath(sys.base_prefix))
    monkeypatch.setattr(sys, "base_prefix", "/")
    with pytest.raises(PrerequisiteError, match="would have to open /"):
        seatbelt_profile(work=str(tmp_path), interpreter=python, home=None)


def test_the_command_line_hands_the_profile_to_sandbox_exec(tmp_path: Path) -> None:
    inner = [sandbox_launch.base_interpreter(), "-c", "print(1)"]
    command = seatbelt_command(inner, work=str(tmp_path), interpreter=inner[0])
    assert command[:2] == ["/usr/bin/sandbox-exec", "-p"] and command[3] == "--" and command[4:] == inner
    assert parse_sbpl(command[2])[0] == ["version", "1"]


# ------------------------------------------------------------------ the launch path on an emulated Mac

@pytest.fixture
def emulated_seatbelt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An emulated Mac whose sandbox-exec is the test double (which confines nothing)."""
    emulate_macos(monkeypatch, replace(MacFacts(), tools={**MAC_TOOLS, "sandbox-exec": str(DOUBLE)}))
    monkeypatch.setattr(sandbox_launch, "seatbelt_works", lambda path: True)
    monkeypatch.delenv("MLX_BENCH_SANDBOX", raising=False)
    sandbox_backend.reset()
    assert sandbox_backend.current_backend() == "seatbelt"
    yield
    sandbox_backend.reset()


@pytest.mark.usefixtures("emulated_seatbelt")
def test_a_program_runs_through_sandbox_exec() -> None:
    result = run_program("import os\nprint('hello', os.path.basename(os.getcwd()).startswith('mlxb-sbx-'))\n")
    assert (result.status, result.sandbox, result.completed) == ("passed", "seatbelt", True)
    assert result.stdout == "hello True\n"


@pytest.mark.usefixtures("emulated_seatbelt")
def test_memory_is_enforced_by_the_harness_watch_not_rlimit() -> None:
    # no RLIMIT_AS under seatbelt (macOS ignores it): only the psutil watch can stop this
    hog = ("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY, flush=True)\n"
           "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 * 1024 * 1024))\n")
    started = time.monotonic()
    result = run_program(hog, memory_mb=200, timeout_s=30)
    assert result.stdout == "True\n"
    assert (result.status, result.limit, result.signal) == ("killed", "memory", "SIGKILL")
    assert result.error is not None and result.error.startswith("memory limit: one process held")
    assert time.monotonic() - started < 20


@pytest.mark.usefixtures("emulated_seatbelt")
def test_a_detached_grandchild_is_swept_and_nothing_reads_proc() -> None:
    marker = f"mlxb-seatbelt-grandchild-{os.getpid()}"
    program = ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
               "    os._exit(0)\ntime.sleep(0.5)\nprint('parent done')\n")
    result = run_program(program, timeout_s=10)
    assert result.status == "passed" and "parent done" in result.stdout
    time.sleep(0.3)
    alive = [p.pid for p in psutil.process_iter(["cmdline", "status"])
             if marker in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE]
    assert alive == []

"""The seatbelt backend's generated SBPL profile, checked on Linux: what it allows and denies, parsed
as S-expressions (not grepped), one test per rule. Nothing here has run under real Seatbelt; the
launch path under emulation is in test_seatbelt_emulated.py.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TypeAlias

import pytest

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox.seatbelt import seatbelt_command, seatbelt_profile

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


def test_no_fork_and_only_the_interpreters_own_start_by_default(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, _, _ = profile_forms
    assert ["deny", "process-fork"] in forms
    assert not [ops for ops, _ in rules(forms, "allow") if "process-fork" in ops or "process*" in ops]
    execs = allowed_paths(forms, "process-exec")
    assert execs and execs[0] == ("literal", sandbox_launch.base_interpreter())
    assert all(kind == "literal" for kind, _ in execs)


def test_a_task_that_declares_processes_may_fork_and_run_system_tools(tmp_path: Path) -> None:
    python = sandbox_launch.base_interpreter()
    forms = parse_sbpl(seatbelt_profile(work=str(tmp_path), interpreter=python, processes=True))
    assert ["allow", "process-fork"] in forms and ["deny", "process-fork"] not in forms
    execs = allowed_paths(forms, "process-exec")
    assert execs[0] == ("literal", python)
    assert set(execs[1:]) == {("subpath", "/bin"), ("subpath", "/usr/bin")}
    assert ("subpath", "/usr/bin") in allowed_paths(forms, "file-read-data")  # the tools' own files
    # still no network, still no links, still writes only in the folder
    assert ["deny", "network*"] in forms and ["deny", "file-link"] in forms
    assert set(allowed_paths(forms, "file-write-create")) == {("subpath", os.path.realpath(tmp_path))}


def test_a_forking_runner_gets_a_fork_but_still_no_other_program(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    python = sandbox_launch.base_interpreter()
    forms = parse_sbpl(seatbelt_profile(work=str(tmp_path), interpreter=python, fork=True))
    assert ["allow", "process-fork"] in forms and ["deny", "process-fork"] not in forms
    assert allowed_paths(forms, "process-exec") == [("literal", python)]
    # seatbelt_command asks the runner's own source whether it forks
    for source, rule in (("pid = os.fork()\n", ["allow", "process-fork"]), ("exec(code)\n", ["deny", "process-fork"])):
        monkeypatch.setattr(sandbox_launch, "RUNNER_SOURCE", source)
        command = seatbelt_command([python, "-c", "pass"], work=str(tmp_path), interpreter=python)
        assert rule in parse_sbpl(command[2])


def _filters(form: Form) -> list[Form]:
    return [f for f in form[2:] if isinstance(f, list)] if isinstance(form, list) else []


def test_the_sysctls_uname_and_platform_read_are_allowed(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, _, _ = profile_forms
    (rule,) = [f for f in forms if isinstance(f, list) and f[:2] == ["allow", "sysctl-read"]]
    names = {f[1].strip('"') for f in _filters(rule) if f[0] == "sysctl-name" and isinstance(f[1], str)}
    prefixes = {f[1].strip('"') for f in _filters(rule) if f[0] == "sysctl-name-prefix" and isinstance(f[1], str)}
    # os.uname() reads kern.ostype, kern.hostname, kern.osrelease, kern.version and hw.machine;
    # socket.gethostname() kern.hostname; os.cpu_count() hw.ncpu; platform.mac_ver() kern.osproductversion
    assert {"kern.ostype", "kern.hostname", "kern.osrelease", "kern.version", "hw.machine", "hw.ncpu",
            "hw.memsize", "hw.pagesize", "kern.osproductversion", "hw.logicalcpu"} <= names
    assert {"hw.optional.", "hw.perflevel", "machdep.cpu."} <= prefixes
    # never the process table or a whole namespace
    assert not {p for p in prefixes if p in ("", "hw.", "kern.", "kern.proc.all", "security.")}
    assert "kern.proc.all" not in names
    assert [f for f in forms if isinstance(f, list) and f[:1] == ["allow"] and "sysctl-write" in f] == []


def test_unix_sockets_may_be_made_but_never_bound_or_connected(profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, _, _ = profile_forms
    sockets = [f for f in forms if isinstance(f, list) and f[:2] == ["allow", "system-socket"]]
    # socket(AF_UNIX) and socketpair() (asyncio's self-pipe), nothing else: no AF_INET, no AF_SYSTEM
    assert sockets == [["allow", "system-socket", ["socket-domain", "AF_UNIX"]]]
    granted = {op for ops, _ in rules(forms, "allow") for op in ops}
    assert not {op for op in granted if op.startswith("network")}  # so no bind, no connect, no /var/run
    assert forms.index(["deny", "network*"]) < forms.index(sockets[0])


def test_hard_links_are_denied_everywhere_and_symlinks_in_the_folder(
        profile_forms: tuple[list[Form], Path, Path]) -> None:
    forms, work, _ = profile_forms
    assert ["deny", "file-link"] in forms
    assert not [ops for ops, _ in rules(forms, "allow") if any(op.startswith("file-link") for op in ops)]
    symlinks = ["deny", "file-write-create", ["require-all", ["subpath", f'"{work}"'], ["vnode-type", "SYMLINK"]]]
    assert symlinks in forms
    # Seatbelt lets the last matching rule win: both denials come after the folder's allow
    folder = next(i for i, f in enumerate(forms) if isinstance(f, list) and f[:2] == ["allow", "file-read*"]
                  and ["subpath", f'"{work}"'] in f)
    assert forms.index(["deny", "file-link"]) > folder and forms.index(symlinks) > folder


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


def test_the_command_line_hands_the_profile_to_sandbox_exec_by_absolute_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = [sandbox_launch.base_interpreter(), "-c", "print(1)"]
    decoy = tmp_path / "bin"
    decoy.mkdir()
    (decoy / "sandbox-exec").write_text("#!/bin/sh\nexec \"$@\"\n")
    (decoy / "sandbox-exec").chmod(0o755)
    monkeypatch.setenv("PATH", f"{decoy}:{os.environ['PATH']}")  # a sandbox-exec on PATH is never used
    command = seatbelt_command(inner, work=str(tmp_path), interpreter=inner[0])
    assert command[:2] == ["/usr/bin/sandbox-exec", "-p"] and command[3] == "--" and command[4:] == inner
    assert parse_sbpl(command[2])[0] == ["version", "1"]


def _fake_interpreter(folder: Path, prefix: str, log: Path) -> Path:
    """A stand-in interpreter that answers the prefix question with ``prefix`` and logs each question."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python3"
    script.write_text(f"#!/bin/sh\necho asked >> {log}\necho '[\"{prefix}\", \"{prefix}\"]'\n")
    script.chmod(0o755)
    return script


def test_an_override_interpreters_own_prefix_is_opened_not_the_harnesss(tmp_path: Path) -> None:
    log = tmp_path / "asked.log"
    other = _fake_interpreter(tmp_path / "elsewhere" / "bin", "/opt/other-python/3.12", log)
    work = tmp_path / "work"
    work.mkdir()
    for _ in range(3):
        forms = parse_sbpl(seatbelt_profile(work=str(work), interpreter=str(other), home="/nonexistent-home"))
    reads = allowed_paths(forms, "file-read-data")
    assert ("subpath", "/opt/other-python/3.12") in reads and ("subpath", str(other.parent)) in reads
    assert ("subpath", os.path.realpath(sys.base_prefix)) not in reads  # the harness's own Python
    assert allowed_paths(forms, "process-exec") == [("literal", str(other))]
    assert log.read_text().count("asked") == 1  # asked once, remembered


def test_an_override_interpreter_installed_too_broadly_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for prefix in ("/", str(home), "/opt/homebrew", "/Users"):
        fake = _fake_interpreter(tmp_path / prefix.strip("/").replace("/", "-") / "bin", prefix, tmp_path / "log")
        with pytest.raises(PrerequisiteError, match=f"would have to open {re.escape(prefix)} "):
            seatbelt_profile(work=str(tmp_path), interpreter=str(fake), home=str(home))



"""The hostile battery on an emulated Mac: every case, either through the harness or against the profile.

Seatbelt itself cannot run here, and the sandbox-exec test double confines nothing, so each case of
tests/sandbox/hostile_battery.py is checked one of two ways:

- what the harness does (wall clock, the family watch and sweep, RLIMIT_FSIZE, threads) runs for real
  through the emulated seatbelt launch path;
- what Seatbelt would decide is asked of the generated profile by a small evaluator of its rules
  (``decide``): the operation, its path or attributes, and the last matching rule wins, as in Seatbelt.

Neither proves the kernel enforces the profile; docs/sandbox.md says what to run on a real Mac.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox.run import run_program
from mlx_benchmarks.sandbox.seatbelt import seatbelt_profile
from tests.sandbox.hostile_battery import CASES
from tests.sandbox.test_seatbelt import Form, parse_sbpl
from tests.sandbox.test_seatbelt_emulated import DOUBLE, _become_a_mac


def _matches(flt: Form, path: str | None, attrs: dict[str, str]) -> bool:
    if not isinstance(flt, list) or not flt:
        return False
    head, args = flt[0], [a.strip('"') if isinstance(a, str) else a for a in flt[1:]]
    if head == "require-all":
        return all(_matches(f, path, attrs) for f in flt[1:])
    if head == "require-any":
        return any(_matches(f, path, attrs) for f in flt[1:])
    value = args[0] if args and isinstance(args[0], str) else None
    if head == "literal":
        return path == value
    if head == "subpath":
        return path is not None and value is not None and (path == value or path.startswith(value.rstrip("/") + "/"))
    if head == "sysctl-name":
        return attrs.get("sysctl") == value
    if head == "sysctl-name-prefix":
        return value is not None and attrs.get("sysctl", "").startswith(value)
    keys = {"vnode-type": "vnode", "socket-domain": "domain", "target": "target", "global-name": "service"}
    return head in keys and attrs.get(keys[head]) == value


def _covers(op: str, operation: str) -> bool:
    return op == operation or op == "default" or (op.endswith("*") and operation.startswith(op[:-1]))


def decide(forms: list[Form], operation: str, path: str | None = None, **attrs: str) -> str:
    """``allow`` or ``deny``: the last rule whose operation and filters match, as Seatbelt decides."""
    decision = "deny"
    for form in forms:
        if not isinstance(form, list) or form[:1] not in (["allow"], ["deny"]):
            continue
        ops = [f for f in form[1:] if isinstance(f, str)]
        filters = [f for f in form[1:] if isinstance(f, list)]
        if any(_covers(op, operation) for op in ops) and (not filters or any(_matches(f, path, attrs) for f in filters)):
            decision = str(form[0])
    return decision


@pytest.fixture
def mac(tmp_path: Path) -> tuple[list[Form], Path, Path, Path]:
    """The profile a program in ``work`` gets, with a home beside it and the interpreter's prefix."""
    home, work = tmp_path / "Users" / "me", tmp_path / "work"
    work.mkdir(parents=True)
    home.mkdir(parents=True)
    python = sandbox_launch.base_interpreter()
    forms = parse_sbpl(seatbelt_profile(work=str(work), interpreter=python, home=str(home), fork=True))
    return forms, Path(os.path.realpath(work)), home, Path(os.path.realpath(sys.base_prefix))


def test_the_evaluator_reads_rules_the_way_seatbelt_does() -> None:
    forms = parse_sbpl('(version 1)(deny default)(allow file-read* (subpath "/a"))(deny file-read-data (literal "/a/s"))')
    assert decide(forms, "file-read-data", "/a/x") == "allow"
    assert decide(forms, "file-read-data", "/a/s") == "deny"  # the later rule wins
    assert decide(forms, "file-read-metadata", "/a/s") == "allow"
    assert decide(forms, "file-read-data", "/ab") == "deny"  # subpath is a path prefix, not a string prefix
    assert decide(forms, "network-outbound") == "deny"


# how each battery case is checked on an emulated Mac: "harness" runs it, "profile" asks the profile
EMULATED = {
    "read_ssh_key": "profile", "append_zshrc": "profile", "connect_loopback": "profile",
    "detached_child": "harness", "fork_bomb": "profile", "memory_hog": "harness", "infinite_loop": "harness",
    "detached_empty_env": "harness", "link_into_interpreter": "profile", "unix_sockets": "profile",
    "kill_all": "profile", "launch_agent": "profile", "sparse_10gb": "harness", "thousand_threads": "harness",
}


def test_every_battery_case_is_checked_under_emulation() -> None:
    assert set(EMULATED) == set(CASES)


def test_files_outside_the_folder(mac: tuple[list[Form], Path, Path, Path]) -> None:
    forms, work, home, _ = mac
    assert decide(forms, "file-read-data", f"{home}/.ssh/id_ed25519") == "deny"  # read_ssh_key
    for target in (f"{home}/.zshrc", "/private/tmp/x", "/private/var/tmp/x"):  # append_zshrc
        assert decide(forms, "file-write-data", target) == "deny"
        assert decide(forms, "file-write-create", target) == "deny"
    agent = f"{home}/Library/LaunchAgents/com.evil.plist"  # launch_agent
    assert decide(forms, "file-write-create", agent) == "deny"
    assert decide(forms, "file-write-create", f"{work}/big") == "allow"  # sparse_10gb: only in its folder
    assert decide(forms, "file-write-create", f"{home}/big") == "deny"


def test_links_into_the_interpreters_installation(mac: tuple[list[Form], Path, Path, Path]) -> None:
    forms, work, _, prefix = mac
    stdlib = f"{prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/os.py"
    assert decide(forms, "file-read-data", stdlib) == "allow" and decide(forms, "file-write-data", stdlib) == "deny"
    # a hard link is checked as file-link (against either path, by the readings): denied both ways
    assert decide(forms, "file-link", stdlib) == "deny" and decide(forms, "file-link", f"{work}/via-link") == "deny"
    assert decide(forms, "file-write-create", f"{work}/via-symlink", vnode="SYMLINK") == "deny"
    assert decide(forms, "file-write-create", f"{work}/plain", vnode="REGULAR-FILE") == "allow"


def test_sockets_signals_and_processes(mac: tuple[list[Form], Path, Path, Path]) -> None:
    forms, _, _, _ = mac
    assert decide(forms, "system-socket", domain="AF_UNIX") == "allow"  # socketpair
    assert decide(forms, "system-socket", domain="AF_INET") == "deny"
    for operation in ("network-outbound", "network-bind", "network-inbound"):  # /var/run sockets, loopback
        assert decide(forms, operation, "/private/var/run/docker.sock") == "deny"
        assert decide(forms, operation) == "deny"
    assert decide(forms, "signal", target="others") == "deny"  # kill(-1, 9) reaches its own sandbox only
    assert decide(forms, "signal", target="same-sandbox") == "allow"
    assert decide(forms, "process-exec", "/bin/sh") == "deny"  # fork_bomb and escapes: no other program
    assert decide(forms, "process-exec", sandbox_launch.base_interpreter()) == "allow"


def test_without_a_forking_runner_no_fork_at_all(tmp_path: Path) -> None:
    forms = parse_sbpl(seatbelt_profile(work=str(tmp_path), interpreter=sandbox_launch.base_interpreter(), fork=False))
    assert decide(forms, "process-fork") == "deny"


# ------------------------------------------------------------------ the harness's side, run for real

@pytest.fixture
def emulated_seatbelt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _become_a_mac(monkeypatch, DOUBLE)
    yield


def _alive_with(marker: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline", "status"])
            if marker in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE]


@pytest.mark.usefixtures("emulated_seatbelt")
def test_harness_cases_on_the_emulated_seatbelt_path() -> None:
    marker = f"mlxb-emu-{os.getpid()}"
    # infinite_loop: the wall clock
    started = time.monotonic()
    result = run_program("while True:\n    pass\n", timeout_s=1.5)
    assert result.status == "timeout" and time.monotonic() - started < 10
    # detached_child with an empty environment: the family watch and the sweep
    result = run_program("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                         f"        os.execve(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', "
                         f"{marker!r}], {{}})\n    os._exit(0)\ntime.sleep(0.3)\n", timeout_s=10)
    assert result.status == "passed"
    # sparse_10gb: RLIMIT_FSIZE holds on macOS too
    result = run_program("import os\ntry:\n    with open('big', 'wb') as f:\n        f.seek(10 << 30)\n"
                         "        f.write(b'x')\nexcept OSError as exc:\n    print('DENIED', exc.errno)\n"
                         "print(os.path.getsize('big') if os.path.exists('big') else 0)\n")
    assert result.status == "passed" and "DENIED 27" in result.stdout  # EFBIG
    # thousand_threads: bounded, nothing left
    started = time.monotonic()
    result = run_program("import threading\nstop = threading.Event()\nfor _ in range(1000):\n"
                         "    threading.Thread(target=stop.wait, args=(20,), daemon=True).start()\n"
                         "print('made', threading.active_count() > 1)\nstop.set()\n", timeout_s=15)
    assert result.status in ("passed", "runtime_error", "killed") and time.monotonic() - started < 20
    time.sleep(0.3)
    assert _alive_with(marker) == []

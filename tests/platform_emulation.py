"""A macOS-on-Apple-Silicon emulation for tests that run on Linux (a test double, nothing more).

No Mac runs this project's tests on every change, so the Darwin branches are exercised here with the
platform facts a Mac would show faked through ``monkeypatch``:

- ``platform.system() == "Darwin"``, ``sys.platform == "darwin"``, ``platform.machine() == "arm64"``,
  ``platform.mac_ver()``, ``platform.release()``;
- no ``/proc``: ``os.path.exists``/``isdir``, ``os.listdir``/``scandir``, ``open``/``io.open`` and the
  ``pathlib.Path`` readers all act as if ``/proc`` did not exist (psutil, which has its own macOS backend,
  still reads it, so process-tree code keeps working);
- ``shutil.which`` finds none of the Linux-only tools (bwrap, unshare, setpriv, ...) and finds the macOS
  ones (sandbox-exec, sysctl, sw_vers, ioreg, system_profiler, vm_stat) at their usual paths;
- ``os.geteuid()`` is 501 (the first user of a Mac, never root);
- ``psutil.virtual_memory().total`` is ``hw.memsize`` (what psutil's macOS backend reports);
- ``subprocess.run``/``check_output`` answer ``sysctl``, ``sw_vers``, ``ioreg`` and ``system_profiler``
  from :class:`MacFacts` and raise FileNotFoundError for the Linux-only tools; every other command runs
  for real. ``Popen`` is not faked.

Use the ``fake_macos`` fixture (registered in tests/conftest.py) or call :func:`emulate_macos` with
your own :class:`MacFacts`. What passes here was verified under emulation only, not on Apple hardware.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import psutil
import pytest

LINUX_ONLY_TOOLS = frozenset({"bwrap", "unshare", "setpriv", "prlimit", "apt-get", "dpkg", "nsenter", "lscpu"})
MAC_TOOLS = {
    "sandbox-exec": "/usr/bin/sandbox-exec",
    "sysctl": "/usr/sbin/sysctl",
    "sw_vers": "/usr/bin/sw_vers",
    "ioreg": "/usr/sbin/ioreg",
    "system_profiler": "/usr/sbin/system_profiler",
    "vm_stat": "/usr/bin/vm_stat",
}


def _default_sysctl() -> dict[str, str]:
    return {
        "machdep.cpu.brand_string": "Apple M3 Max",
        "hw.memsize": str(128 * 1024**3),
        "hw.ncpu": "16",
        "hw.physicalcpu": "16",
        "hw.perflevel0.physicalcpu": "12",
        "hw.perflevel1.physicalcpu": "4",
        "hw.optional.arm64": "1",
        "hw.model": "Mac15,9",
        "kern.osproductversion": "15.3.2",
        "kern.osrelease": "24.3.0",
        "sysctl.proc_translated": "0",
    }


@dataclass(frozen=True)
class MacFacts:
    """What the emulated Mac answers; ``replace(MacFacts(), gpu_cores=30)`` for variants."""

    machine: str = "arm64"
    macos_version: str = "15.3.2"
    build_version: str = "24D81"
    darwin_release: str = "24.3.0"
    euid: int = 501
    gpu_cores: int | None = 40
    sysctl: Mapping[str, str] = field(default_factory=_default_sysctl)
    tools: Mapping[str, str] = field(default_factory=lambda: dict(MAC_TOOLS))
    hidden_tools: frozenset[str] = LINUX_ONLY_TOOLS

    def with_sysctl(self, **values: str) -> MacFacts:
        """These facts with some sysctl keys replaced (dots written as ``__``)."""
        merged = dict(self.sysctl)
        merged.update({key.replace("__", "."): value for key, value in values.items()})
        return replace(self, sysctl=merged)


@dataclass
class FakeMac:
    """The active emulation: its facts, and every faked command that was asked for."""

    facts: MacFacts
    commands: list[list[str]] = field(default_factory=list)


def _is_proc(path: Any) -> bool:
    if isinstance(path, int):
        return False
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    return text == "/proc" or text.startswith("/proc/")


def _called_from_psutil() -> bool:
    # psutil has its own macOS backend, so on a Mac it works without /proc; here its Linux backend
    # needs /proc, and only the project's own reads of /proc are what the emulation must catch.
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return isinstance(caller, str) and caller.split(".")[0] == "psutil"


def _answer(facts: MacFacts, cmd: list[str]) -> tuple[int, str, str] | None:
    """(returncode, stdout, stderr) for a faked command, None to run it for real."""
    name = os.path.basename(cmd[0]) if cmd else ""
    args = cmd[1:]
    if name in facts.hidden_tools:
        raise FileNotFoundError(2, "No such file or directory (not on macOS)", cmd[0])
    if name == "sysctl":
        keys = [arg for arg in args if not arg.startswith("-")]
        bare = "-n" in args
        lines = []
        for key in keys:
            if key not in facts.sysctl:
                return 1, "\n".join(lines), f"sysctl: unknown oid '{key}'\n"
            lines.append(facts.sysctl[key] if bare else f"{key}: {facts.sysctl[key]}")
        return 0, "\n".join(lines) + "\n", ""
    if name == "sw_vers":
        table = {"-productName": "macOS", "-productVersion": facts.macos_version, "-buildVersion": facts.build_version}
        if args:
            return (0, table[args[0]] + "\n", "") if args[0] in table else (1, "", "sw_vers: bad option\n")
        return 0, "".join(f"{k[1:]}:\t{v}\n" for k, v in table.items()), ""
    if name == "ioreg":
        if facts.gpu_cores is None or "AGXAccelerator" not in args:
            return 0, "", ""
        return 0, f'+-o AGXAcceleratorG15X  <class AGXAcceleratorG15X>\n  {{\n    "gpu-core-count" = {facts.gpu_cores}\n  }}\n', ""
    if name == "system_profiler":
        entry: dict[str, Any] = {"sppci_model": facts.sysctl.get("machdep.cpu.brand_string", "Apple")}
        if facts.gpu_cores is not None:
            entry["sppci_cores"] = str(facts.gpu_cores)
        return 0, json.dumps({"SPDisplaysDataType": [entry]}), ""
    return None


def emulate_macos(monkeypatch: pytest.MonkeyPatch, facts: MacFacts | None = None) -> FakeMac:
    """Make this test see an Apple Silicon Mac; undone when the test ends."""
    fake = FakeMac(facts or MacFacts())
    facts = fake.facts
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(platform, "machine", lambda: facts.machine)
    monkeypatch.setattr(platform, "processor", lambda: "arm" if facts.machine == "arm64" else "i386")
    monkeypatch.setattr(platform, "release", lambda: facts.darwin_release)
    monkeypatch.setattr(platform, "mac_ver", lambda *a, **k: (facts.macos_version, ("", "", ""), facts.machine))
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(os, "geteuid", lambda: facts.euid)
    _hide_proc(monkeypatch)
    _fake_which(monkeypatch, facts)
    _fake_subprocess(monkeypatch, fake)
    real_memory = psutil.virtual_memory
    memsize = int(facts.sysctl["hw.memsize"])
    monkeypatch.setattr(psutil, "virtual_memory", lambda: real_memory()._replace(total=memsize))
    return fake


def _hide_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    def guard(real: Callable[..., Any], missing: Any = None) -> Callable[..., Any]:
        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            if _is_proc(path) and not _called_from_psutil():
                if missing is not None:
                    return missing
                raise FileNotFoundError(2, "No such file or directory (emulated macOS has no /proc)", str(path))
            return real(path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(os.path, "exists", guard(os.path.exists, missing=False))
    monkeypatch.setattr(os.path, "isdir", guard(os.path.isdir, missing=False))
    monkeypatch.setattr(os.path, "isfile", guard(os.path.isfile, missing=False))
    monkeypatch.setattr(os, "listdir", guard(os.listdir))
    monkeypatch.setattr(os, "scandir", guard(os.scandir))
    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    for name, missing in (("exists", False), ("is_dir", False), ("is_file", False)):
        real_method = getattr(pathlib.Path, name)
        monkeypatch.setattr(pathlib.Path, name, guard(real_method, missing=missing))
    for name in ("read_text", "read_bytes", "open", "iterdir", "stat"):
        monkeypatch.setattr(pathlib.Path, name, guard(getattr(pathlib.Path, name)))


def _fake_which(monkeypatch: pytest.MonkeyPatch, facts: MacFacts) -> None:
    real_which = shutil.which

    def which(cmd: Any, mode: int = os.F_OK | os.X_OK, path: Any = None) -> str | None:
        name = os.path.basename(os.fspath(cmd))
        if name in facts.hidden_tools:
            return None
        if name in facts.tools:
            return facts.tools[name]
        return real_which(cmd, mode, path)

    monkeypatch.setattr(shutil, "which", which)


def _fake_subprocess(monkeypatch: pytest.MonkeyPatch, fake: FakeMac) -> None:
    real_run = subprocess.run

    def as_list(args: Any) -> list[str]:
        if isinstance(args, (str, bytes)):
            return [os.fsdecode(args)]
        return [os.fsdecode(a) for a in args] if isinstance(args, Iterable) else []

    def run(args: Any, *posargs: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        cmd = as_list(args)
        answer = _answer(fake.facts, cmd)
        if answer is None:
            return real_run(args, *posargs, **kwargs)
        fake.commands.append(cmd)
        code, out, err = answer
        text = bool(kwargs.get("text") or kwargs.get("universal_newlines") or kwargs.get("encoding"))
        captured = kwargs.get("capture_output") or kwargs.get("stdout") == subprocess.PIPE
        stdout: Any = (out if text else out.encode()) if captured else None
        errors_captured = kwargs.get("capture_output") or kwargs.get("stderr") == subprocess.PIPE
        stderr: Any = (err if text else err.encode()) if errors_captured else None
        if kwargs.get("check") and code:
            raise subprocess.CalledProcessError(code, args, stdout, stderr)
        return subprocess.CompletedProcess(args, code, stdout, stderr)

    def check_output(args: Any, *posargs: Any, **kwargs: Any) -> Any:
        return run(args, *posargs, stdout=subprocess.PIPE, check=True, **kwargs).stdout

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(subprocess, "check_output", check_output)


@pytest.fixture
def fake_macos(monkeypatch: pytest.MonkeyPatch) -> FakeMac:
    """An emulated Apple Silicon Mac (M3 Max, 40 GPU cores, macOS 15.3.2, no /proc, not root)."""
    return emulate_macos(monkeypatch)

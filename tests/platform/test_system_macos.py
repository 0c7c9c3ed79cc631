"""System detection on an emulated Apple Silicon Mac (faked sysctl / sw_vers / ioreg output)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from mlx_benchmarks import system
from tests.platform_emulation import FakeMac, MacFacts, emulate_macos


def test_chip_os_and_kernel_come_from_the_mac_tools(fake_macos: FakeMac) -> None:
    block = system.detect_system({})
    assert block["chip"] == "Apple M3 Max"
    assert block["os"] == "macOS 15.3.2"
    assert block["kernel"] == "24.3.0"
    assert block["memory_gb"] == 128
    assert ["sysctl", "-n", "machdep.cpu.brand_string"] in fake_macos.commands


def test_os_version_falls_back_to_sw_vers(fake_macos: FakeMac, monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    monkeypatch.setattr(platform, "mac_ver", lambda *a, **k: ("", ("", "", ""), ""))
    assert system.detect_os() == "macOS 15.3.2"
    assert ["sw_vers", "-productVersion"] in fake_macos.commands


@pytest.mark.parametrize("cores", [30, 40])
def test_gpu_cores_from_ioreg(monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
    fake = emulate_macos(monkeypatch, replace(MacFacts(), gpu_cores=cores))
    assert system.detect_gpu_cores() == cores
    assert fake.commands[0][0] == "ioreg"


def test_gpu_cores_fall_back_to_system_profiler(fake_macos: FakeMac, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = subprocess.run

    def ioreg_silent(args: list[str], *a: object, **k: object) -> subprocess.CompletedProcess[str]:
        if args[0] == "ioreg":
            return subprocess.CompletedProcess(args, 0, "", "")
        return real_run(args, *a, **k)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "run", ioreg_silent)
    assert system.detect_gpu_cores() == 40
    assert fake_macos.commands[-1] == ["system_profiler", "SPDisplaysDataType", "-json"]


def test_gpu_cores_unknown_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    emulate_macos(monkeypatch, replace(MacFacts(), gpu_cores=None))
    assert system.detect_gpu_cores() is None


def test_gpu_cores_none_off_darwin() -> None:
    assert system.detect_gpu_cores() is None


def test_system_profiler_parsing() -> None:
    parse = system._cores_from_system_profiler
    assert parse(json.dumps({"SPDisplaysDataType": [{"sppci_cores": "38"}]})) == 38
    assert parse(json.dumps({"SPDisplaysDataType": [{"sppci_model": "x"}, {"sppci_cores": 10}]})) == 10
    assert parse(json.dumps({"SPDisplaysDataType": [{"sppci_cores": "many"}]})) is None
    assert parse("not json") is None
    assert parse("[]") is None


def test_emulation_hides_proc_and_linux_tools(fake_macos: FakeMac) -> None:
    import shutil
    import sys

    assert sys.platform == "darwin" and os.geteuid() != 0
    assert not os.path.exists("/proc/self") and not Path("/proc").exists()
    with pytest.raises(FileNotFoundError):
        Path("/proc/cpuinfo").read_text()
    with pytest.raises(FileNotFoundError):
        os.listdir("/proc")
    assert shutil.which("bwrap") is None and shutil.which("unshare") is None
    assert shutil.which("sandbox-exec") == "/usr/bin/sandbox-exec"
    # psutil keeps working: on a Mac it has its own backend
    import psutil

    assert psutil.Process().pid == os.getpid()
    out = subprocess.run(["sysctl", "-n", "hw.perflevel0.physicalcpu", "hw.memsize"], capture_output=True, text=True)
    assert out.stdout.split() == ["12", str(128 * 1024**3)]
    assert subprocess.run(["sysctl", "-n", "no.such"], capture_output=True).returncode == 1


def test_a_36_gb_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    emulate_macos(monkeypatch, MacFacts().with_sysctl(hw__memsize=str(36 * 1024**3),
                                                      machdep__cpu__brand_string="Apple M3 Pro"))
    block = system.detect_system({})
    assert (block["chip"], block["memory_gb"]) == ("Apple M3 Pro", 36)


def test_chip_without_a_brand_string_is_the_processor_not_linux_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = MacFacts()
    sysctl = {k: v for k, v in facts.sysctl.items() if k != "machdep.cpu.brand_string"}
    emulate_macos(monkeypatch, replace(facts, sysctl=sysctl))
    assert system.detect_chip() == "arm", "no lscpu or /proc/cpuinfo on a Mac"
    with pytest.raises(FileNotFoundError):
        subprocess.run(["lscpu"], capture_output=True, check=False)

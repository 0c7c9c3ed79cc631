"""The memory sampler's platform sources: chosen once by platform, macOS paths checked under emulation.

On macOS the footprint comes from libproc's ``proc_pid_rusage`` (faked here by a real ctypes callback that
fills ``rusage_info_v4`` the way the kernel does) and wired memory from ``psutil.virtual_memory().wired``
(faked psutil field). Nothing in the sampler may start a process: ``subprocess`` is made to fail.
Verified under Linux emulation only, not on Apple hardware.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from collections import namedtuple
from typing import Any

import psutil
import pytest

from mlx_benchmarks.measure import memory_source
from mlx_benchmarks.measure.memory import GB, MB, MemorySampler
from mlx_benchmarks.measure.memory_source import (
    RUSAGE_INFO_V4,
    RUSAGE_PROTOTYPE,
    MacSource,
    PsutilOnlySource,
    RusageInfoV4,
    choose_memory_source,
)
from tests.platform_emulation import FakeMac

FOOTPRINT = 3 * GB + 123 * MB
WIRED = 5 * GB
FakeVM = namedtuple("FakeVM", "total available percent used free active inactive wired")
REAL_VIRTUAL_MEMORY = psutil.virtual_memory


def fake_rusage(footprints: dict[int, int], calls: list[tuple[int, int]]) -> Any:
    """A C-callable stand-in for libproc's proc_pid_rusage: fills ri_phys_footprint, -1 for unknown pids."""

    def proc_pid_rusage(pid: int, flavor: int, buffer: int | None) -> int:
        calls.append((pid, flavor))
        if pid not in footprints or flavor != RUSAGE_INFO_V4 or not buffer:
            return -1
        info = ctypes.cast(buffer, ctypes.POINTER(RusageInfoV4)).contents
        info.ri_resident_size = 1  # neighbours written too: the offset of the field read must be right
        info.ri_phys_footprint = footprints[pid]
        info.ri_proc_start_abstime = 2
        return 0

    return RUSAGE_PROTOTYPE(proc_pid_rusage)


def fake_vm(wired: int = WIRED) -> FakeVM:
    real = REAL_VIRTUAL_MEMORY()
    return FakeVM(real.total, real.available, real.percent, real.used, real.free, 0, 0, wired)


def no_processes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every way of starting a program fail, and record the attempts."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:1]))
        raise AssertionError(f"the memory sampler started a process: {args[:1]!r}")

    for name in ("Popen", "run", "check_output", "call"):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr(os, "system", refuse)
    return attempts


def test_rusage_info_v4_layout_matches_the_macos_header() -> None:
    # <sys/resource.h>: 16-byte uuid, then uint64 fields; ri_phys_footprint is the 8th of 35
    assert RusageInfoV4.ri_phys_footprint.offset == 16 + 7 * 8
    assert RusageInfoV4.ri_lifetime_max_phys_footprint.offset == 16 + 28 * 8
    assert ctypes.sizeof(RusageInfoV4) == 16 + 35 * 8


def test_linux_source_measures_no_footprint_and_no_wired_memory() -> None:
    source = choose_memory_source("Linux")
    assert isinstance(source, PsutilOnlySource)
    assert source.footprint_bytes(os.getpid()) is None
    assert source.wired_bytes(fake_vm()) is None


def test_macos_source_reads_footprint_through_libproc_and_wired_from_psutil() -> None:
    calls: list[tuple[int, int]] = []
    source = choose_memory_source("Darwin", lambda: fake_rusage({4242: FOOTPRINT}, calls))
    assert isinstance(source, MacSource)
    assert source.footprint_bytes(4242) == FOOTPRINT
    assert calls == [(4242, RUSAGE_INFO_V4)]
    assert source.footprint_bytes(999_999) is None  # proc_pid_rusage failed: not measured, not 0
    assert source.wired_bytes(fake_vm(WIRED)) == WIRED


def test_macos_without_libproc_reports_no_footprint() -> None:
    source = choose_memory_source("Darwin", lambda: None)
    assert source.footprint_bytes(os.getpid()) is None
    assert source.wired_bytes(fake_vm()) == WIRED


def test_libproc_is_absent_on_linux() -> None:
    assert memory_source.load_proc_pid_rusage() is None


def test_sampler_on_emulated_mac_samples_footprint_and_wired_without_a_subprocess(
    fake_macos: FakeMac, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = os.getpid()
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(memory_source, "load_proc_pid_rusage", lambda: fake_rusage({pid: FOOTPRINT}, calls))
    monkeypatch.setattr(psutil, "virtual_memory", fake_vm)
    attempts = no_processes(monkeypatch)

    sampler = MemorySampler(hz=50).start()  # the source is chosen here, by the (emulated) platform
    mark = sampler.mark()
    time.sleep(0.3)
    sampler.stop()

    assert isinstance(sampler.source, MacSource)
    assert len(sampler.samples) >= 3
    assert attempts == [] and fake_macos.commands == []
    assert sampler.peak_footprint_mb(since=mark) == pytest.approx(FOOTPRINT / MB)
    snapshot = sampler.snapshot("after")
    assert snapshot.wired_gb == pytest.approx(WIRED / GB, abs=1e-3)
    assert snapshot.rss_gb > 0  # RSS stays psutil's RSS, beside the footprint
    assert all(pid_ == pid for pid_, _ in calls)


def test_sampler_on_linux_reports_rss_only(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = no_processes(monkeypatch)
    sampler = MemorySampler()
    sample = sampler.read()
    assert isinstance(sampler.source, PsutilOnlySource)
    assert sample.rss_bytes > 0
    assert sample.footprint_bytes is None and sample.wired_bytes is None
    assert sampler.peak_footprint_mb() is None
    assert sampler.snapshot("now").wired_gb is None
    assert attempts == []


def test_footprint_of_a_process_tree_is_summed(monkeypatch: pytest.MonkeyPatch) -> None:
    # a server that forks workers: the footprint, like RSS, covers the whole tree
    child = subprocess.Popen(["sleep", "30"])
    try:
        calls: list[tuple[int, int]] = []
        monkeypatch.setattr(memory_source, "load_proc_pid_rusage",
                            lambda: fake_rusage({os.getpid(): FOOTPRINT, child.pid: 100 * MB}, calls))
        sampler = MemorySampler(source=choose_memory_source("Darwin"))
        sample = sampler.read()
    finally:
        child.kill()
        child.wait()
    assert sample.footprint_bytes == FOOTPRINT + 100 * MB
    assert {pid for pid, _ in calls} == {os.getpid(), child.pid}

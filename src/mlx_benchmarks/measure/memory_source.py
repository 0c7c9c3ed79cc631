"""Where the platform-specific memory figures come from, chosen once per sampler by platform.

- Everywhere: RSS, free memory and swap from psutil (in ``memory.py``).
- macOS: the process's physical footprint (what Activity Monitor's "Memory" column shows; unlike RSS it
  counts Metal buffers in unified memory) from libproc's ``proc_pid_rusage(RUSAGE_INFO_V4)``, and wired
  memory from ``psutil.virtual_memory().wired``. Both are in-process calls: a sampler running 20 times
  a second inside the process it times must not start programs (it used to run ``vm_stat``).
- Linux and others: no footprint, no wired figure (``None``: not measured, never zero).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

RUSAGE_INFO_V4 = 4
LIBPROC_PATHS = ("/usr/lib/libproc.dylib", "/usr/lib/libSystem.B.dylib")

# int proc_pid_rusage(int pid, int flavor, rusage_info_t *buffer); 0 on success
RusageFunction = Callable[[int, int, Any], int]
RUSAGE_PROTOTYPE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


class RusageInfoV4(ctypes.Structure):
    """``struct rusage_info_v4`` from macOS's <sys/resource.h> (a 16-byte uuid, then 35 uint64 fields)."""

    _fields_ = [
        ("ri_uuid", ctypes.c_uint8 * 16),
        *[(name, ctypes.c_uint64) for name in (
            "ri_user_time", "ri_system_time", "ri_pkg_idle_wkups", "ri_interrupt_wkups", "ri_pageins",
            "ri_wired_size", "ri_resident_size", "ri_phys_footprint", "ri_proc_start_abstime",
            "ri_proc_exit_abstime", "ri_child_user_time", "ri_child_system_time", "ri_child_pkg_idle_wkups",
            "ri_child_interrupt_wkups", "ri_child_pageins", "ri_child_elapsed_abstime", "ri_diskio_bytesread",
            "ri_diskio_byteswritten", "ri_cpu_time_qos_default", "ri_cpu_time_qos_maintenance",
            "ri_cpu_time_qos_background", "ri_cpu_time_qos_utility", "ri_cpu_time_qos_legacy",
            "ri_cpu_time_qos_user_initiated", "ri_cpu_time_qos_user_interactive", "ri_billed_system_time",
            "ri_serviced_system_time", "ri_logical_writes", "ri_lifetime_max_phys_footprint",
            "ri_instructions", "ri_cycles", "ri_billed_energy", "ri_serviced_energy",
            "ri_interval_max_phys_footprint", "ri_runnable_time",
        )],
    ]


class MemorySource(Protocol):
    """The platform's figures beyond psutil's RSS."""

    @property
    def name(self) -> str:
        """What the figures come from, for logs and tests."""

    def footprint_bytes(self, pid: int) -> int | None:
        """The process's physical footprint now, or None where the platform has no such figure."""

    def wired_bytes(self, vm: Any) -> int | None:
        """Wired (unpageable) memory of the machine from a ``psutil.virtual_memory()`` reading, or None."""


@dataclass(frozen=True)
class PsutilOnlySource:
    """Linux and other platforms: RSS only; footprint and wired memory are not measured."""

    name: str = "psutil"

    def footprint_bytes(self, pid: int) -> int | None:
        del pid
        return None

    def wired_bytes(self, vm: Any) -> int | None:
        del vm
        return None


@dataclass(frozen=True)
class MacSource:
    """macOS: footprint from libproc (None when libproc could not be loaded), wired memory from psutil."""

    rusage: RusageFunction | None
    name: str = "psutil+libproc"

    def footprint_bytes(self, pid: int) -> int | None:
        if self.rusage is None:
            return None
        info = RusageInfoV4()
        if self.rusage(pid, RUSAGE_INFO_V4, ctypes.addressof(info)) != 0:
            return None  # the process is gone, or belongs to another user
        return int(info.ri_phys_footprint)

    def wired_bytes(self, vm: Any) -> int | None:
        wired = getattr(vm, "wired", None)
        return None if wired is None else int(wired)


def load_proc_pid_rusage() -> RusageFunction | None:
    """libproc's ``proc_pid_rusage`` through ctypes, or None where no library exports it."""
    for path in (ctypes.util.find_library("proc"), *LIBPROC_PATHS):
        if not path:
            continue
        try:
            function = ctypes.CDLL(path).proc_pid_rusage
        except (OSError, AttributeError):
            continue
        function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
        function.restype = ctypes.c_int
        found: RusageFunction = function
        return found
    return None


def choose_memory_source(
    system: str | None = None, load_rusage: Callable[[], RusageFunction | None] | None = None
) -> MemorySource:
    """The source for this platform (``platform.system()`` unless given)."""
    if (system or platform.system()) == "Darwin":
        return MacSource((load_rusage or load_proc_pid_rusage)())
    return PsutilOnlySource()

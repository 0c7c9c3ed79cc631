"""Managed servers on an emulated Mac: which parent watch is chosen, how llama.cpp is started and built."""

from __future__ import annotations

import importlib.machinery
import os
import select
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.targets import managed, parent_watch
from mlx_benchmarks.targets.parent_watch import ENV_VAR, choose_parent_watch
from tests.platform_emulation import FakeMac


class KqueueDouble:
    """Stands in for select.kqueue (absent on Linux): records registrations, reports the parent's exit."""

    registered: ClassVar[list[Any]] = []

    def __init__(self) -> None:
        self.exited = False

    def control(self, changes: list[Any] | None, max_events: int, timeout: float | None = None) -> list[Any]:
        if changes:
            KqueueDouble.registered.extend(changes)
            return []
        return [object()] if self.exited else []


def kevent_double(ident: int, **kwargs: int) -> dict[str, int]:
    return {"ident": ident, **kwargs}


@pytest.fixture
def mac_kernel(fake_macos: FakeMac, monkeypatch: pytest.MonkeyPatch) -> FakeMac:
    """The emulated Mac's kernel interfaces: kqueue and its constants, no pidfd_open."""
    monkeypatch.setattr(select, "kqueue", KqueueDouble, raising=False)
    monkeypatch.setattr(select, "kevent", kevent_double, raising=False)
    for name, value in (("KQ_FILTER_PROC", -5), ("KQ_EV_ADD", 1), ("KQ_NOTE_EXIT", 0x80000000)):
        monkeypatch.setattr(select, name, value, raising=False)
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    monkeypatch.delenv(ENV_VAR, raising=False)
    return fake_macos


def test_a_mac_watches_its_parent_with_kqueue(mac_kernel: FakeMac) -> None:
    watch = choose_parent_watch()
    assert watch.name == "kqueue"
    argv = watch.command(["mlx_lm.server", "--model", "m"])
    assert argv[1:7] == ["-m", "mlx_benchmarks.targets.parent_watch", "--method", "kqueue",
                         "--parent", str(os.getpid())]
    assert argv[7:] == ["--", sys.executable, "-m", "mlx_lm.server", "--model", "m"]


def test_without_kqueue_a_mac_polls_getppid(mac_kernel: FakeMac, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(select, "kqueue")
    assert choose_parent_watch().name == "poll"


def test_prctl_cannot_be_forced_on_a_mac(mac_kernel: FakeMac) -> None:
    with pytest.raises(UsageError, match=r"MLX_BENCH_PARENT_WATCH='prctl': this system offers kqueue, poll"):
        choose_parent_watch({ENV_VAR: "prctl"})
    assert choose_parent_watch({ENV_VAR: "poll"}).name == "poll"


def test_kqueue_waiter_registers_note_exit_on_the_parent(mac_kernel: FakeMac) -> None:
    KqueueDouble.registered.clear()
    exited = parent_watch._parent_exit_waiter("kqueue", 4242)
    assert KqueueDouble.registered == [{"ident": 4242, "filter": -5, "flags": 1, "fflags": 0x80000000}]
    assert exited(0.0) is False


def test_the_supervisor_starts_nothing_when_the_harness_is_already_gone() -> None:
    assert parent_watch.supervise("poll", os.getppid() + 1_000_000, ["false"]) == 1


def fake_llama_cpp(monkeypatch: pytest.MonkeyPatch, *, gpu: bool) -> None:
    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.llama_supports_gpu_offload = lambda: gpu  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)


@pytest.mark.parametrize(("gpu", "layers"), [(True, "-1"), (False, "0")])
def test_llamacpp_offloads_every_layer_where_the_build_can(mac_kernel: FakeMac, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path, gpu: bool, layers: str) -> None:
    fake_llama_cpp(monkeypatch, gpu=gpu)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    target = managed.managed_target("llamacpp", str(gguf))
    flag = target.command.index("--n_gpu_layers")
    assert target.command[flag + 1] == layers
    assert target.extra_details == {"n_gpu_layers": layers, "parent_watch": "kqueue"}
    assert target.execution is not None and target.execution.tags() == {"device": "gpu" if gpu else "cpu"}


def test_llamacpp_hint_on_apple_silicon_builds_metal(mac_kernel: FakeMac, monkeypatch: pytest.MonkeyPatch) -> None:
    real = managed.importlib.util.find_spec
    monkeypatch.setattr(managed.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(managed.PrerequisiteError, match=r'CMAKE_ARGS="-DGGML_METAL=ON" pip install'):
        managed.managed_target("llamacpp", None)


@pytest.mark.parametrize(("system", "machine", "flags"), [
    ("Darwin", "arm64", "-DGGML_METAL=ON"),
    ("Darwin", "x86_64", managed.LLAMACPP_CMAKE_AVX),
    ("Linux", "x86_64", managed.LLAMACPP_CMAKE_AVX),
    ("Linux", "aarch64", ""),
])
def test_llamacpp_build_flags_by_machine(system: str, machine: str, flags: str) -> None:
    assert managed.llamacpp_cmake_args(system, machine) == flags

"""Managed servers: started on loopback, measured, and always stopped (after errors and a killed parent too).

The lifecycle tests launch the calibration server as the "server" (it starts in well under a second); the
``mlx`` and ``llamacpp`` tests launch the real servers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.console import Console

from mlx_benchmarks.errors import PrerequisiteError, TargetUnavailable
from mlx_benchmarks.measure.load import send
from mlx_benchmarks.runner.execute import Runner, RunRequest, run_sync
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites import registry
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.targets import managed
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.managed import ManagedServerTarget, managed_target
from mlx_benchmarks.targets.parent_watch import ENV_VAR, available_methods
from mlx_benchmarks.targets.registry import TargetSpec

CREATED: list[ManagedServerTarget] = []
HELLO = ChatRequest(messages=[{"role": "user", "content": "hi there"}], max_tokens=3,
                    extra_body={"calibration_itl_ms": 1})


def calibration_managed(model: str | None = None) -> ManagedServerTarget:
    """A managed target whose server is the calibration server (a factory for ``py:`` specs)."""
    target = ManagedServerTarget(kind="calibration", command=["mlx_benchmarks.measure.calibration_server"],
                                 request_model="calibration-model", display_name="calibration", start_timeout_s=30)
    CREATED.append(target)
    return target


def gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_start_serve_stop_and_the_process_is_gone() -> None:
    async def go() -> tuple[int, bool]:
        target = calibration_managed()
        await target.start()
        pid = target.info.pid
        assert pid is not None and psutil.pid_exists(pid)
        assert target.info.kind == "managed-calibration" and target.info.model == "calibration"
        completion = await send(target, HELLO)
        await target.stop()
        await target.stop()  # twice is fine
        return pid, completion.ok

    pid, ok = asyncio.run(go())
    assert ok and gone(pid)


class ExplodingSuite:
    """A test suite that sends one request, then fails with a bug."""

    name = "throughput"
    description = "test double"

    def add_arguments(self, parser: Any) -> None:
        return None

    def validate_options(self, options: Any) -> None:
        return None

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        assert (await send(ctx.target, HELLO)).ok
        raise RuntimeError("suite bug")


def test_server_is_stopped_when_the_suite_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "throughput", "tests.targets.test_managed:ExplodingSuite")
    CREATED.clear()
    request = RunRequest(suite="throughput", spec=TargetSpec(target="py:tests.targets.test_managed:calibration_managed"),
                         git_sha="abcdef0")
    with pytest.raises(RuntimeError, match="suite bug"):
        run_sync(Runner(Store(tmp_path), Console(quiet=True)), request)
    (target,) = CREATED
    assert target.process is None and target.info.pid is not None
    assert gone(target.info.pid), "the runner's finally stopped the server"


def test_a_server_that_exits_at_start_is_unavailable_with_its_last_words() -> None:
    target = ManagedServerTarget(kind="broken", command=["mlx_benchmarks.no_such_module"], request_model="x",
                                 display_name="x", start_timeout_s=30)
    with pytest.raises(TargetUnavailable, match=r"broken server exited with code 1 .*no_such_module"):
        asyncio.run(target.start())
    assert target.process is None and target.log_path is None


def harness_with_a_server(then: str, env: dict[str, str] | None = None,
                          server: str = "calibration_managed()") -> tuple[subprocess.Popen[str], int]:
    """A child Python process that starts a managed server (by default the calibration server), prints its
    PID, then runs ``then`` (indented code inside ``async def main()``); returns (the harness, the server's PID)."""
    script = textwrap.dedent("""
        import asyncio, sys, time
        sys.path.insert(0, sys.argv[1])
        from tests.targets.test_managed import calibration_managed
        from mlx_benchmarks.targets.managed import managed_target
        async def main():
            target = {server}
            await target.start()
        {then}
        asyncio.run(main())
    """).replace("{then}", textwrap.indent(textwrap.dedent(then), "    ")).replace("{server}", server)
    parent = subprocess.Popen([sys.executable, "-c", script, str(Path(__file__).resolve().parents[2])],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, **(env or {})})
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def kill_the_harness_and_check(method: str, server: str = "calibration_managed()") -> None:
    """Start a server under parent watch ``method`` in a harness, SIGKILL the harness, expect no server left."""
    if method not in available_methods():
        pytest.skip(f"{method} parent watching does not exist on {sys.platform}")
    parent, child = harness_with_a_server("""
        print(target.info.pid, flush=True)
        print(target.process.pid, flush=True)
        time.sleep(600)
    """, env={ENV_VAR: method}, server=server)
    assert parent.stdout is not None
    launched = int(parent.stdout.readline())
    assert psutil.pid_exists(child)
    # a supervisor sits between the harness and the server; the memory sampler watches the server itself
    assert (launched == child) == (method == "prctl")
    assert psutil.Process(child).cmdline()[-4:-2] == ["--host", "127.0.0.1"]
    parent.kill()  # SIGKILL: no finally, no atexit
    parent.wait()
    parent.stdout.close()
    assert gone(child, within_s=10), f"the server went with its parent ({method})"
    assert gone(launched)


@pytest.mark.parametrize("method", ["prctl", "kqueue", "pidfd", "poll"])
def test_server_dies_with_a_killed_parent(method: str) -> None:
    kill_the_harness_and_check(method)


@pytest.mark.mlx
@pytest.mark.parametrize("method", ["prctl", "kqueue", "poll"])
def test_serve_mlx_leaves_no_server_after_kill_9_of_the_harness(method: str) -> None:
    pytest.importorskip("mlx_lm")
    kill_the_harness_and_check(method, server='managed_target("mlx", None, timeout_s=120)')


def test_sigterm_to_the_harness_stops_the_server() -> None:
    parent, child = harness_with_a_server("""
        try:
            print(target.info.pid, flush=True)
            await asyncio.sleep(60)
        finally:
            await target.stop()
    """)
    parent.terminate()
    assert parent.wait(timeout=15) != 0
    assert parent.stdout is not None
    parent.stdout.close()
    assert gone(child)


def test_llamacpp_absent_is_a_prerequisite_error_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(managed.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(PrerequisiteError, match=r"pip install 'mlx-benchmarks\[llamacpp\]'") as raised:
        managed_target("llamacpp", None)
    assert managed.llamacpp_cmake_args() in str(raised.value), "this machine's build flags"


@pytest.mark.mlx
def test_managed_mlx_server_on_the_embedded_model() -> None:
    pytest.importorskip("mlx_lm")

    async def go() -> tuple[int, Any, list[Any]]:
        target = managed_target("mlx", None, timeout_s=120)
        await target.start()
        try:
            completion = await send(target, ChatRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=4))
            log = target.server_log
            assert log is not None, "mlx_lm.server's own log is kept for the speed cross-check"
            logged = log.requests_since(0)
        finally:
            await target.stop()
        assert target.info.pid is not None and target.server_log is None, "the log goes with the server"
        return target.info.pid, completion, logged

    pid, completion, logged = asyncio.run(go())
    assert completion.ok and completion.usage is not None and completion.usage.completion_tokens >= 1
    assert gone(pid)
    assert len(logged) == 2, "the ready probe and our request, each opened by its Incoming Request Body"
    assert logged[-1].output_tokens == completion.usage.completion_tokens, "DEBUG: one record per token"


@pytest.mark.llamacpp
def test_managed_llamacpp_server_on_the_embedded_gguf() -> None:
    pytest.importorskip("llama_cpp")

    import llama_cpp

    async def go() -> tuple[int, Any]:
        target = managed_target("llamacpp", None, timeout_s=120)
        await target.start()
        expected = "-1" if llama_cpp.llama_supports_gpu_offload() else "0"
        assert target.info.details["n_gpu_layers"] == expected, "all layers on the GPU where the build has one"
        assert target.info.execution is not None
        assert target.info.execution.device == ("cpu" if expected == "0" else "gpu")
        try:
            completion = await send(target, ChatRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=4))
        finally:
            await target.stop()
        assert target.info.pid is not None
        return target.info.pid, completion

    pid, completion = asyncio.run(go())
    assert completion.ok and gone(pid)

"""Servers we start ourselves on loopback (``--serve mlx|llamacpp``), measure over HTTP, and always stop.

The server runs in its own session (a terminal's Ctrl-C reaches only us, and we stop it), goes if we die
(``parent_watch``: PR_SET_PDEATHSIG on Linux, a kqueue/pidfd/getppid supervisor elsewhere), and is stopped
by ``stop()`` (SIGTERM, then SIGKILL to its process group), by an atexit hook if ``stop()`` never ran, and
by SIGTERM to us (turned into SystemExit so cleanup runs).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from types import FrameType

import aiohttp

from mlx_benchmarks.errors import PrerequisiteError, TargetUnavailable, UsageError
from mlx_benchmarks.measure.server_log import ServerLog
from mlx_benchmarks.targets.base import ChatRequest, Chunk, ExecutionInfo, TargetInfo
from mlx_benchmarks.targets.mlx_blas import subprocess_env
from mlx_benchmarks.targets.openai_http import OpenAITarget
from mlx_benchmarks.targets.parent_watch import ParentWatch, choose_parent_watch

HOST = "127.0.0.1"
MLX_HINT = "mlx-lm is not installed: pip install 'mlx-benchmarks[mlx]'"
# llama.cpp build flags by machine; the Makefile's LLAMACPP_CMAKE says the same (a test compares them)
LLAMACPP_CMAKE_AVX = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
LLAMACPP_CMAKE_METAL = "-DGGML_METAL=ON"


def llamacpp_cmake_args(system: str | None = None, machine: str | None = None) -> str:
    """Metal on Apple Silicon, the AVX flags on x86_64, llama.cpp's defaults elsewhere (aarch64 Linux)."""
    system = platform.system() if system is None else system
    machine = platform.machine() if machine is None else machine
    if system == "Darwin" and machine == "arm64":
        return LLAMACPP_CMAKE_METAL
    return LLAMACPP_CMAKE_AVX if machine in ("x86_64", "AMD64") else ""


def llamacpp_hint() -> str:
    """How to install the [llamacpp] extra on this machine."""
    flags = llamacpp_cmake_args()
    prefix = f'CMAKE_ARGS="{flags}" ' if flags else ""
    return f"llama-cpp-python is not installed: {prefix}pip install 'mlx-benchmarks[llamacpp]'"


def llamacpp_gpu_layers() -> int:
    """-1 (every layer on the GPU) where this llama.cpp build can offload (Metal, CUDA, ...), else 0."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


_LIVE: set[subprocess.Popen[bytes]] = set()


def _stop_process(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL to its process group (a supervisor's server too); always reaps."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
    _kill_group(process.pid)  # whatever the server started and left behind in its group
    _LIVE.discard(process)


def _kill_group(pgid: int) -> None:
    # started with start_new_session, so the group is the server's alone
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _stop_all() -> None:
    for process in list(_LIVE):
        _stop_process(process, grace_s=2.0)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through finally blocks and atexit, which stop the servers


atexit.register(_stop_all)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])[:400]


class ManagedServerTarget:
    """A server process plus an OpenAITarget talking to it."""

    def __init__(self, *, kind: str, command: list[str], request_model: str, display_name: str,
                 timeout_s: float = 600.0, start_timeout_s: float = 300.0,
                 details: dict[str, str] | None = None, execution: ExecutionInfo | None = None,
                 watch: ParentWatch | None = None) -> None:
        self.kind = kind
        self.command = command
        self.request_model = request_model
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.inner: OpenAITarget | None = None
        self.log_path: Path | None = None
        self.watch = watch or choose_parent_watch()
        self.extra_details = {**(details or {}), "parent_watch": self.watch.name}
        self.execution = execution
        self.info = TargetInfo(kind=f"managed-{kind}", model=display_name, supports_ignore_eos=True)

    @property
    def stats(self) -> object:
        return self.inner.stats if self.inner else None

    @property
    def server_log(self) -> ServerLog | None:
        """mlx_lm.server's own log (it runs at DEBUG: one record per token), for the speed cross-check."""
        if self.kind != "mlx" or self.log_path is None or not self.log_path.is_file():
            return None
        return ServerLog(self.log_path)

    async def start(self) -> None:
        """Launch, wait until it answers, then send one 1-token request so the model is surely loaded."""
        self.port = free_port()
        argv = self.watch.command([*self.command, "--host", HOST, "--port", str(self.port)])
        fd, log = tempfile.mkstemp(prefix=f"mlx-bench-{self.kind}-", suffix=".log")
        self.log_path = Path(log)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            with contextlib.suppress(ValueError):  # only the main thread may set handlers
                signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            # a child cannot inherit our in-process BLAS preload; LD_PRELOAD gives it the same fast BLAS
            env = {**os.environ, **subprocess_env()} if self.kind == "mlx" else None
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
                                            start_new_session=True, env=env)
        finally:
            os.close(fd)
        _LIVE.add(self.process)
        try:
            await self._wait_ready()
            server_pid = self.watch.server_pid(self.process.pid)
            self.inner = OpenAITarget(f"http://{HOST}:{self.port}/v1", model=self.request_model,
                                      display_name=self.info.model, kind=self.info.kind,
                                      server_pid=server_pid, timeout_s=self.timeout_s)
            await self.inner.start()
            probe = ChatRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
            async for _ in self.inner.stream(probe):
                pass
        except BaseException:
            await self.stop()
            raise
        self.info = replace(self.inner.info, pid=server_pid, execution=self.execution or self.inner.info.execution,
                            details={**self.inner.info.details, **self.extra_details,
                                     "command": " ".join(self.command),
                                     "ready_probe": "one 1-token request before measuring"})

    async def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if self.process.poll() is not None:
                    raise TargetUnavailable(f"{self.kind} server exited with code {self.process.returncode} "
                                            f"before it was ready: {_tail(self.log_path) if self.log_path else ''}")
                for path in ("/health", "/v1/models"):
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with session.get(f"http://{HOST}:{self.port}{path}") as response:
                            if response.status == 200:
                                return
                if time.monotonic() > deadline:
                    raise TargetUnavailable(f"{self.kind} server on {HOST}:{self.port} not ready after "
                                            f"{self.start_timeout_s:.0f} s")
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Close the client, stop the server (SIGTERM, then SIGKILL), remove its log. Safe to call twice."""
        inner, self.inner = self.inner, None
        if inner is not None:
            await inner.stop()
        process, self.process = self.process, None
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, _stop_process, process)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        if self.inner is None:
            raise TargetUnavailable(f"{self.kind} server not started")
        return self.inner.stream(request)

    def count_tokens(self, text: str) -> None:
        return None

    def make_prompt(self, n_tokens: int, salt: str) -> None:
        return None


def _model_path(target: str | None, model: str | None) -> str | None:
    for candidate in (target, model):
        if candidate:
            path = candidate[4:] if candidate.startswith("mlx:") else candidate
            if Path(path).expanduser().exists():
                return str(Path(path).expanduser().resolve())
    return None


def managed_target(kind: str, target: str | None, *, model: str | None = None,
                   timeout_s: float = 600.0) -> ManagedServerTarget:
    """``--serve mlx`` (mlx_lm.server) or ``--serve llamacpp`` (llama-cpp-python's server) for a model."""
    start_timeout = float(os.environ.get("MLX_BENCH_SERVE_TIMEOUT", "300"))
    path = _model_path(target, model)
    if (target or model) and path is None and kind == "llamacpp":
        raise UsageError(f"--serve llamacpp needs a GGUF file; {target or model!r} does not exist")
    if kind == "mlx":
        if importlib.util.find_spec("mlx_lm") is None:
            raise PrerequisiteError(MLX_HINT)
        name = ""
        if path is None and not (target or model):
            from mlx_benchmarks.targets.embedded import EMBEDDED_MODEL_NAME, ensure_embedded_model

            path, name = str(ensure_embedded_model()), EMBEDDED_MODEL_NAME
        model_arg = path or str(target or model)  # not a local folder: mlx_lm treats it as a repo id
        name = name or (model if model and model != model_arg else Path(model_arg).name)
        # DEBUG: the server then logs each generated token with its own clock (see measure.server_log)
        return ManagedServerTarget(kind="mlx", command=["mlx_lm.server", "--model", model_arg, "--log-level", "DEBUG"],
                                   request_model=model_arg, display_name=name, timeout_s=timeout_s,
                                   start_timeout_s=start_timeout)
    if kind == "llamacpp":
        if importlib.util.find_spec("llama_cpp") is None:
            raise PrerequisiteError(llamacpp_hint())
        if path is None:
            from mlx_benchmarks.targets.embedded import embedded_gguf_path

            path = str(embedded_gguf_path())
        name = model if model and model != path else Path(path).stem
        gpu_layers = str(llamacpp_gpu_layers())  # MLX on Metal is compared with llama.cpp on Metal, not CPU
        return ManagedServerTarget(kind="llamacpp",
                                   command=["llama_cpp.server", "--model", path, "--model_alias", name,
                                            "--n_gpu_layers", gpu_layers,
                                            # native OpenAI tool calls for the tool-calling suites
                                            "--chat_format", "chatml-function-calling"],
                                   request_model=name, display_name=name, timeout_s=timeout_s,
                                   start_timeout_s=start_timeout, details={"n_gpu_layers": gpu_layers},
                                   execution=ExecutionInfo(device="cpu" if gpu_layers == "0" else "gpu"))
    raise UsageError(f"--serve {kind!r}: choose mlx or llamacpp")

"""Detect the machine, its software and the CI context for the envelope's ``system`` block."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import psutil

from mlx_benchmarks.errors import UsageError

SHA_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")

# Distribution names for each system field; vllm_mlx only from ``vllm-mlx``, never ``vllm``.
PACKAGE_FIELDS = {
    "mlx_version": ("mlx",),
    "mlx_lm_version": ("mlx-lm",),
    "lm_eval_version": ("lm-eval", "lm_eval"),
    "vllm_mlx_version": ("vllm-mlx",),
}


def _run(cmd: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, cwd=cwd, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def detect_os() -> str:
    """``macOS 15.3.2`` on a Mac, the distribution's pretty name on Linux."""
    system = platform.system()
    if system == "Darwin":
        version = platform.mac_ver()[0] or _run(["sw_vers", "-productVersion"]) or ""
        return f"macOS {version}".strip()
    if system == "Linux":
        try:
            text = Path("/etc/os-release").read_text(encoding="utf-8")
        except OSError:
            return "Linux"
        fields = dict(
            line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
        )
        pretty = fields.get("PRETTY_NAME", "").strip().strip('"')
        if pretty:
            return pretty
        name = fields.get("NAME", "Linux").strip('"')
        return f"{name} {fields.get('VERSION_ID', '').strip(chr(34))}".strip()
    return f"{system} {platform.release()}".strip()


def detect_chip() -> str:
    """The CPU or SoC model name (sysctl brand string on macOS, /proc/cpuinfo on Linux)."""
    if platform.system() == "Darwin":
        brand = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if brand:
            return brand
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    lscpu = _run(["lscpu"])
    if lscpu:
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


_IOREG_CORES_RE = re.compile(r'"gpu-core-count"\s*=\s*(\d+)')


def _cores_from_system_profiler(text: str) -> int | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    displays = data.get("SPDisplaysDataType") if isinstance(data, dict) else None
    for entry in displays if isinstance(displays, list) else []:
        cores = entry.get("sppci_cores") if isinstance(entry, dict) else None
        if isinstance(cores, int) or (isinstance(cores, str) and cores.isdigit()):
            return int(cores)
    return None


def detect_gpu_cores() -> int | None:
    """The GPU core count of an Apple Silicon Mac (30 vs 40 on an M3 Max); None elsewhere or unknown.

    ``ioreg`` answers in milliseconds; ``system_profiler`` (slower) is the fallback.
    """
    if platform.system() != "Darwin":
        return None
    ioreg = _run(["ioreg", "-rc", "AGXAccelerator", "-d1"])
    match = _IOREG_CORES_RE.search(ioreg or "")
    if match:
        return int(match.group(1))
    profiler = _run(["system_profiler", "SPDisplaysDataType", "-json"])
    return _cores_from_system_profiler(profiler) if profiler else None


def package_version(*names: str) -> str | None:
    """The installed version of the first distribution found among ``names``."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def detect_runner(env: dict[str, str]) -> str | None:
    """The GitHub Actions runner: an explicit label, else self-hosted/name."""
    if env.get("MLX_BENCH_RUNNER"):
        return env["MLX_BENCH_RUNNER"]
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    if env.get("RUNNER_ENVIRONMENT") == "self-hosted":
        return "self-hosted"
    return env.get("RUNNER_NAME") or env.get("RUNNER_OS") or "github-hosted"


def detect_system(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The envelope's ``system`` block with every field that can be known here."""
    env = dict(os.environ) if env is None else env
    out: dict[str, Any] = {
        "os": detect_os(),
        "chip": detect_chip(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3),
        "kernel": platform.release(),
        "python_version": platform.python_version(),
    }
    for field_name, dists in PACKAGE_FIELDS.items():
        found = package_version(*dists)
        if found:
            out[field_name] = found
    runner = detect_runner(env)
    if runner:
        out["runner"] = runner
    return out


@dataclass(frozen=True)
class CIContext:
    """What triggered the run and, for pull requests, which one."""

    trigger: str
    pr_number: int | None


def detect_trigger(env: dict[str, str] | None = None) -> CIContext:
    """Map GITHUB_EVENT_NAME / GITHUB_REF onto the schema's trigger and pr_number."""
    env = dict(os.environ) if env is None else env
    event = env.get("GITHUB_EVENT_NAME", "")
    if event == "schedule":
        return CIContext("schedule", None)
    if event in ("pull_request", "pull_request_target"):
        match = re.match(r"refs/pull/(\d+)/", env.get("GITHUB_REF", ""))
        return CIContext("pr", int(match.group(1)) if match else None)
    if event == "workflow_dispatch":
        return CIContext("workflow_dispatch", None)
    return CIContext("local", None)


def _baked_sha() -> str | None:
    try:
        text = resources.files("mlx_benchmarks").joinpath("_build_info.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    sha = json.loads(text).get("git_sha")
    return sha if isinstance(sha, str) and SHA_RE.match(sha) else None


def detect_git_sha(env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """The checkout the user runs from, else MLX_BENCH_GIT_SHA, else the commit baked in at install."""
    env = dict(os.environ) if env is None else env
    head = _run(["git", "rev-parse", "HEAD"], cwd=cwd)
    if head and SHA_RE.match(head):
        return head
    from_env = env.get("MLX_BENCH_GIT_SHA", "").strip()
    if from_env:
        if not SHA_RE.match(from_env):
            raise UsageError(f"MLX_BENCH_GIT_SHA={from_env!r} is not a 7-64 digit hex commit")
        return from_env
    baked = _baked_sha()
    if baked:
        return baked
    raise UsageError(
        "no git commit is known: run inside a git checkout, set MLX_BENCH_GIT_SHA, or pass --git-sha"
    )

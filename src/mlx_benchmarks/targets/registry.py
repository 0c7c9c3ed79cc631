"""Target specs -> targets, through lazy factories so ``import mlx`` happens only when MLX is used.

Specs:
- no ``--target``: the embedded default model (SmolLM2-135M-Instruct, converted once from its GGUF); with
  ``--model X``, X in process: a local mlx-lm folder or a repo id in the local HF cache (``local_model``)
- ``http://HOST:PORT/v1``: any OpenAI-compatible server
- ``mlx:PATH``: an mlx-lm model folder, in process
- ``--serve mlx|llamacpp``: a server we start on loopback, stop afterwards
- ``py:MODULE:FACTORY``: a target from user (or test) code; FACTORY(model=..., **options) -> Target
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.targets.base import Target
from mlx_benchmarks.targets.credentials import redact_text
from mlx_benchmarks.targets.response_budget import ResponseBudget


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked for, before anything is opened."""

    target: str | None = None  # URL, mlx:PATH, py:MODULE:FACTORY, or None for the embedded default
    model: str | None = None
    serve: str | None = None  # "mlx" | "llamacpp"
    server_pid: int | None = None
    timeout_s: float = 600.0
    idle_timeout_s: float | None = 60.0  # silence between streamed events that ends a request (HTTP targets)
    # the NAME of the environment variable holding this target's API key (a sweep file's per-target key);
    # specs are written to the run journal, so the key itself never sits here
    api_key_env: str | None = None
    # the bytes of answers being streamed (HTTP targets; targets.response_budget): one answer, all in flight
    max_response_mb: float | None = None
    max_buffered_mb: float | None = None

    @property
    def label(self) -> str:
        if self.serve:
            return f"serve:{self.serve}:{self.target or self.model or 'embedded'}"
        return self.target or "embedded"


def api_key(env: dict[str, str] | None = None, variable: str | None = None) -> str | None:
    """The named variable's value if ``variable`` is given (UsageError when unset), else
    ``MLX_BENCH_API_KEY``, else ``OPENAI_API_KEY``."""
    env = dict(os.environ) if env is None else env
    if variable:
        if not env.get(variable):
            raise UsageError(f"the environment variable {variable} (this target's API key) is not set")
        return env[variable]
    return env.get("MLX_BENCH_API_KEY") or env.get("OPENAI_API_KEY") or None


def _load(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import target module {module_name!r}: {exc}") from None
    if not hasattr(module, attr):
        raise UsageError(f"target module {module_name!r} has no {attr!r}")
    return getattr(module, attr)


def make_target(spec: TargetSpec) -> Target:
    """Build (not start) the target the spec names."""
    target: Target
    if spec.serve:
        from mlx_benchmarks.targets.managed import managed_target

        target = managed_target(spec.serve, spec.target, model=spec.model, timeout_s=spec.timeout_s)
    elif spec.target is None and spec.model:
        from mlx_benchmarks.targets.local_model import resolve_local_model
        from mlx_benchmarks.targets.mlx_inproc import MLXTarget

        found = resolve_local_model(spec.model)
        target = MLXTarget(found.path, model_name=spec.model, model_revision=found.revision)
    elif spec.target is None or spec.target == "embedded":
        from mlx_benchmarks.targets.embedded import embedded_target

        target = embedded_target()
    elif spec.target.startswith(("http://", "https://")):
        from mlx_benchmarks.targets.openai_http import OpenAITarget

        target = OpenAITarget(
            spec.target, model=spec.model, api_key=api_key(variable=spec.api_key_env), server_pid=spec.server_pid, timeout_s=spec.timeout_s,
            idle_timeout_s=spec.idle_timeout_s,
            budget=ResponseBudget.of_mb(spec.max_response_mb, spec.max_buffered_mb),
        )
    elif spec.target.startswith("mlx:"):
        from mlx_benchmarks.targets.mlx_inproc import MLXTarget

        target = MLXTarget(spec.target[4:], model_name=spec.model)
    elif spec.target.startswith("py:"):
        factory = _load(spec.target[3:])
        target = factory(model=spec.model)
    else:
        raise UsageError(
            f"unknown target {redact_text(spec.target)!r}: use http(s)://HOST:PORT/v1, mlx:PATH, py:MODULE:FACTORY, "
            "or leave --target out for the embedded default"
        )
    return target

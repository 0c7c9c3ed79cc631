"""Give MLX's Linux CPU backend a fast BLAS before ``mlx.core`` is imported.

The Linux ``mlx[cpu]`` wheel links a bundled netlib reference BLAS (measured about 2 GFLOP/s for a
float32 matmul on a 2-core x86 box). BLIS and OpenBLAS export the same ``cblas_*`` symbols; loaded
with ``RTLD_GLOBAL`` before ``libmlx.so``, the library joins the global symbol scope ahead of the
bundled one and MLX's float32 matmuls bind to it (measured 35-75x faster; ``benchmarks/blas_options.py``). Loading it
after ``mlx.core`` has no effect: the symbols are bound at import. Quantized and float16 matmuls do not
go through BLAS on the CPU, which is why the embedded model is dequantized to float32 on Linux.

``MLX_BENCH_BLAS`` overrides: ``off`` keeps the bundled BLAS, a path loads that library instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

# Preference order, from benchmarks/blas_options.py on a shared 2-core x86 box: single-threaded BLIS
# decodes about 20% faster than OpenBLAS (an M=1 matmul is memory-bound; OpenBLAS's threads spin) and
# uses a third less CPU; OpenBLAS on 2 threads prefills about 30% faster. Decode dominates a throughput
# grid and the box is shared, so BLIS comes first. MLX_BENCH_BLAS picks another.
_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4",
    "/usr/lib/aarch64-linux-gnu/blis-pthread/libblis.so.4",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)
INSTALL_HINT = "apt-get install libblis4-pthread (or libopenblas0-pthread)"

_state: str | None = None


def _candidates(env: dict[str, str]) -> list[str]:
    override = env.get("MLX_BENCH_BLAS", "").strip()
    if override:
        return [override]
    found = ctypes.util.find_library("blis") or ctypes.util.find_library("openblas")
    paths = [p for p in _CANDIDATES if Path(p).exists()]
    return [*paths, *([found] if found else [])]


def preload_fast_blas(env: dict[str, str] | None = None) -> str:
    """Load BLIS or OpenBLAS globally if MLX's Linux CPU backend would otherwise use the reference BLAS.

    Returns a description of the BLAS MLX will use, also kept for ``blas_description()``. Safe to
    call many times; only the first call before ``import mlx.core`` can change anything.
    """
    global _state
    if _state is not None:
        return _state
    env = dict(os.environ) if env is None else env
    if not sys.platform.startswith("linux"):
        _state = "platform BLAS (Accelerate on macOS)"
        return _state
    if "mlx.core" in sys.modules:
        # too late: libmlx.so already bound its BLAS symbols
        _state = "bundled reference BLAS (mlx was imported before the fast BLAS could be loaded)"
        return _state
    if env.get("MLX_BENCH_BLAS", "").strip().lower() in ("off", "reference", "0", "none"):
        _state = "bundled reference BLAS (MLX_BENCH_BLAS=off)"
        return _state
    for candidate in _candidates(env):
        if "openblas" in candidate.lower():
            # OpenBLAS reads this when loaded: idle threads sleep sooner instead of spinning in
            # sched_yield (measured: a third less CPU per decoded token, no slower)
            os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
        try:
            ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        name = (
            "OpenBLAS"
            if "openblas" in candidate.lower()
            else "BLIS"
            if "blis" in candidate.lower()
            else "BLAS"
        )
        _state = f"{name} ({candidate})"
        return _state
    _state = f"bundled reference BLAS (slow; {INSTALL_HINT} for about 20x faster prompt processing)"
    return _state


def blas_description() -> str:
    """What ``preload_fast_blas`` decided, or that it has not run."""
    return _state or "not decided (preload_fast_blas has not run)"


def blas_name() -> str | None:
    """A short name for the ``blas`` tag: ``blis``, ``openblas``, ``accelerate``, ``reference`` (MLX's
    bundled netlib BLAS) or ``other`` (an ``MLX_BENCH_BLAS`` path); None before ``preload_fast_blas``."""
    if _state is None:
        return None
    state = _state.lower()
    if state.startswith("bundled"):
        return "reference"
    return next((name for name in ("openblas", "blis", "accelerate") if name in state), "other")


def has_fast_blas() -> bool:
    """True when MLX float32 matmuls go to an optimised BLAS (or the platform's own)."""
    return _state is not None and not _state.startswith("bundled")


def subprocess_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment additions that give a child MLX process (``mlx_lm.server``) the same fast BLAS.

    A child cannot inherit a ``ctypes`` preload, so it gets ``LD_PRELOAD`` instead (Linux only).
    """
    env = dict(os.environ) if env is None else env
    if not sys.platform.startswith("linux"):
        return {}
    if env.get("MLX_BENCH_BLAS", "").strip().lower() in ("off", "reference", "0", "none"):
        return {}
    candidates = _candidates(env)
    if not candidates:
        return {}
    existing = env.get("LD_PRELOAD", "")
    return {"LD_PRELOAD": f"{candidates[0]} {existing}".strip()}

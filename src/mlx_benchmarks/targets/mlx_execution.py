"""How an in-process MLX model actually runs: weights layout, device, compute dtype, BLAS (``ExecutionInfo``).

Every value is read from what MLX and the loaded model say, never from the model's name:
- ``weights_layout``: config.json's ``quantization`` block (which mlx-lm builds its quantized layers from),
  else the commonest dtype of the loaded weight matrices;
- ``device``: ``mx.default_device()``, the device generation runs on;
- ``compute_dtype``: the dtype of the model's output for a one-token input, read from MLX's lazy graph
  without evaluating it (no kernel runs, so a cold first request stays cold);
- ``blas``: on the CPU only, the library ``mlx_blas`` bound float matmuls to.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from mlx_benchmarks.targets.base import ExecutionInfo
from mlx_benchmarks.targets.mlx_blas import blas_name

FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


def dtype_name(dtype: Any) -> str:
    """``mlx.core.float16`` -> ``float16``."""
    return str(dtype).rsplit(".", 1)[-1]


def _quant_code(entry: dict[str, Any], default_mode: str) -> str:
    mode = str(entry.get("mode", default_mode))
    prefix = f"q{entry['bits']}" if mode == "affine" else mode
    return f"{prefix}-g{entry['group_size']}" if "group_size" in entry else prefix


def weights_layout(config: dict[str, Any], weight_dtypes: list[str]) -> str | None:
    """``q4-g32`` (``+q8-g32`` for modules quantized otherwise), ``mxfp4-g32``, or a float dtype name."""
    block = config.get("quantization") or config.get("quantization_config")
    if isinstance(block, dict) and "bits" in block:
        mode = str(block.get("mode", "affine"))
        main = _quant_code(block, mode)
        others = sorted({
            _quant_code(value, mode) for value in block.values()
            if isinstance(value, dict) and "bits" in value
        } - {main})
        return "+".join([main, *others])
    floats = [d for d in weight_dtypes if d in FLOAT_DTYPES]
    return Counter(floats).most_common(1)[0][0] if floats else None


def weight_dtypes(model: Any) -> list[str]:
    """Dtype names of the model's weight matrices (``*.weight`` parameters of two or more dimensions)."""
    from mlx.utils import tree_flatten

    flat = cast("list[tuple[str, Any]]", tree_flatten(model.parameters()))
    return [dtype_name(value.dtype) for name, value in flat if name.endswith("weight") and getattr(value, "ndim", 0) >= 2]


def compute_dtype(mx: Any, model: Any) -> str | None:
    """The dtype activations come out in, from the unevaluated graph of a one-token forward pass."""
    try:
        output = model(mx.array([[0]]))
    except Exception:  # a model whose forward needs more than tokens: unknown, not guessed
        return None
    return dtype_name(output.dtype)


def device_name(mx: Any) -> str:
    """``gpu`` or ``cpu``: the device MLX runs generation on."""
    return "gpu" if mx.default_device().type == mx.gpu else "cpu"


def execution_info(mx: Any, model: Any, config: dict[str, Any]) -> ExecutionInfo:
    """What ran: call on the thread that generates (MLX builds graphs per thread's stream)."""
    device = device_name(mx)
    return ExecutionInfo(
        weights_layout=weights_layout(config, weight_dtypes(model)),
        device=device,
        compute_dtype=compute_dtype(mx, model),
        blas=blas_name() if device == "cpu" else None,
    )


def ran_quantization(declared: str | None, layout: str | None) -> str | None:
    """The envelope's ``quantization`` for a model converted from a quantized file into ``layout``.

    A GGUF's ``Q4_1`` stays ``Q4_1`` when kept quantized; dequantized to float32 it becomes
    ``Q4_1 (dequantized to float32)``, so the two configurations never compare as one.
    """
    if declared is None or not layout or layout == "quantized":
        return declared
    return f"{declared} (dequantized to {layout})"

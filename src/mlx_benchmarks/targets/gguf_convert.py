"""Convert a llama-architecture GGUF file into an mlx-lm model folder, offline.

``mx.load`` reads GGUF tensors (Q4_0/Q4_1/Q8_0 arrive as MLX affine-quantized ``weight``/``scales``/
``biases``), but mlx-lm cannot load a GGUF file. This module renames the tensors to the Hugging Face
llama names, undoes llama.cpp's row permutation of the Q and K projections, writes ``config.json``
from the GGUF metadata, and builds the tokenizer from the GGUF vocabulary (``mlx_gguf_tokenizer``).

The output is written to a temporary folder beside the destination and renamed into place, so a
crash never leaves a half-written model behind where ``mlx_lm.load`` would find it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import mlx.core as mx

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.targets.mlx_gguf_tokenizer import write_tokenizer

# GGUF block tensor name -> Hugging Face llama module path
_BLOCK_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_BLOCK_RE = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.(weight|scales|biases|bias)$")
_TOP_RE = re.compile(r"^([a-z_]+)\.(weight|scales|biases|bias)$")

# What the converted weights look like: kept quantized, or dequantized to a float dtype.
WeightLayout = Literal["quantized", "float32", "float16"]

Progress = Callable[[str, int, int], None]  # (phase, done, total)
CONVERSION_RECORD = "conversion.json"


@dataclass(frozen=True)
class ConversionResult:
    """What ``convert_gguf`` wrote."""

    path: Path
    layout: WeightLayout
    bits: int | None  # quantization bits of the projections, None when dequantized
    group_size: int | None
    file_type: str  # the GGUF file type, e.g. "Q4_1"


# llama.cpp's LLAMA_FTYPE numbers for the types mx.load can read
GGUF_FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 32: "BF16"}


def hf_tensor_name(gguf_name: str) -> str | None:
    """The Hugging Face llama name of a GGUF tensor, or None for tensors mlx-lm does not use."""
    match = _BLOCK_RE.match(gguf_name)
    if match:
        layer, part, suffix = match.groups()
        if part not in _BLOCK_NAMES:
            return None
        return f"model.layers.{layer}.{_BLOCK_NAMES[part]}.{suffix}"
    match = _TOP_RE.match(gguf_name)
    if match and match.group(1) in _TOP_NAMES:
        return f"{_TOP_NAMES[match.group(1)]}.{match.group(2)}"
    return None


def unpermute_rows(rows: mx.array, n_heads: int) -> mx.array:
    """Undo llama.cpp's ``permute`` of Q/K rows (interleaved rotary halves -> Hugging Face halves).

    llama.cpp reshapes rows to (heads, 2, head_dim/2) and swaps the last two axes; the inverse
    reshapes to (heads, head_dim/2, 2) and swaps back. Only whole rows move, so it applies unchanged
    to packed quantized rows and to their per-group scales and biases.
    """
    n_rows = rows.shape[0]
    if n_rows % (2 * n_heads):
        raise ValueError(f"{n_rows} rows do not split into {n_heads} heads of even size")
    tail = tuple(rows.shape[1:])
    half = n_rows // n_heads // 2
    return rows.reshape(n_heads, half, 2, *tail).swapaxes(1, 2).reshape(n_rows, *tail)


def _scalar(metadata: dict[str, Any], key: str, default: Any = None) -> Any:
    value = metadata.get(key, default)
    if isinstance(value, mx.array):
        return value.item()
    return value


def config_from_metadata(metadata: dict[str, Any], tensors: dict[str, mx.array]) -> dict[str, Any]:
    """An mlx-lm / Hugging Face llama ``config.json`` from GGUF metadata."""
    arch = metadata.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"only llama-architecture GGUF files are supported, not {arch!r}")

    def key(name: str, default: Any = None) -> Any:
        return _scalar(metadata, f"llama.{name}", default)

    hidden = int(key("embedding_length"))
    n_heads = int(key("attention.head_count"))
    vocab = key("vocab_size") or len(metadata["tokenizer.ggml.tokens"])
    eos = _scalar(metadata, "tokenizer.ggml.eos_token_id")
    bos = _scalar(metadata, "tokenizer.ggml.bos_token_id")
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(key("feed_forward_length")),
        "num_hidden_layers": int(key("block_count")),
        "num_attention_heads": n_heads,
        "num_key_value_heads": int(key("attention.head_count_kv", n_heads)),
        "head_dim": int(key("rope.dimension_count", hidden // n_heads)),
        # GGUF stores float32: 1e-5 arrives as 9.99999974e-06; keep the value the model was given
        "rms_norm_eps": float(f"{float(key('attention.layer_norm_rms_epsilon', 1e-5)):.7g}"),
        "rope_theta": float(key("rope.freq_base", 10000.0)),
        "max_position_embeddings": int(key("context_length", 2048)),
        "vocab_size": int(vocab),
        "hidden_act": "silu",
        "attention_bias": "blk.0.attn_q.bias" in tensors,
        "mlp_bias": False,
        # no separate output tensor: llama.cpp ties the output projection to the embedding
        "tie_word_embeddings": "output.weight" not in tensors,
        "torch_dtype": "float16",
    }
    if bos is not None:
        config["bos_token_id"] = int(bos)
    if eos is not None:
        config["eos_token_id"] = int(eos)
    return config


def _in_features(module: str, config: dict[str, Any]) -> int:
    """The unpacked input width of a linear (or embedding) module."""
    if module.endswith("mlp.down_proj"):
        return int(config["intermediate_size"])
    if module.endswith("self_attn.o_proj"):
        return int(config["num_attention_heads"] * config["head_dim"])
    return int(config["hidden_size"])


def quant_params(weight: mx.array, scales: mx.array, in_features: int) -> tuple[int, int]:
    """(bits, group_size) of an MLX-quantized weight whose unpacked width is ``in_features``."""
    return weight.shape[-1] * 32 // in_features, in_features // scales.shape[-1]


def _dequantized(weight: mx.array, scales: mx.array, biases: mx.array, in_features: int) -> mx.array:
    bits, group = quant_params(weight, scales, in_features)
    # llama.cpp dequantizes in float32 (d * q + m); do the same so no rounding is added
    return mx.dequantize(
        weight, scales.astype(mx.float32), biases.astype(mx.float32), group_size=group, bits=bits
    )


def convert_tensors(
    tensors: dict[str, mx.array], config: dict[str, Any], layout: WeightLayout
) -> tuple[dict[str, mx.array], dict[str, Any] | None]:
    """Renamed, un-permuted (and optionally dequantized) tensors, plus the ``quantization`` block."""
    renamed: dict[str, mx.array] = {}
    for name, value in tensors.items():
        hf = hf_tensor_name(name)
        if hf is None:
            continue
        if ".self_attn.q_proj." in hf:
            value = unpermute_rows(value, config["num_attention_heads"])
        elif ".self_attn.k_proj." in hf:
            value = unpermute_rows(value, config["num_key_value_heads"])
        renamed[hf] = value
    modules = sorted({k.rsplit(".", 1)[0] for k in renamed if k.endswith(".scales")})
    if layout != "quantized":
        dtype = mx.float32 if layout == "float32" else mx.float16
        for module in modules:
            scales, biases = renamed.pop(f"{module}.scales"), renamed.pop(f"{module}.biases")
            renamed[f"{module}.weight"] = _dequantized(
                renamed[f"{module}.weight"], scales, biases, _in_features(module, config)
            )
        for name in list(renamed):
            renamed[name] = renamed[name].astype(dtype)
        return renamed, None
    if not modules:
        return renamed, None
    quantization: dict[str, Any] = {}
    for module in modules:
        in_features = _in_features(module, config)
        bits, group = quant_params(renamed[f"{module}.weight"], renamed[f"{module}.scales"], in_features)
        quantization[module] = {"group_size": group, "bits": bits}
    # the default is what most projections use; the per-module entries record the exceptions
    commonest = max(
        {(q["bits"], q["group_size"]) for q in quantization.values()},
        key=lambda bg: sum((q["bits"], q["group_size"]) == bg for q in quantization.values()),
    )
    block: dict[str, Any] = {"group_size": commonest[1], "bits": commonest[0]}
    block.update({m: q for m, q in quantization.items() if (q["bits"], q["group_size"]) != commonest})
    return renamed, block


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Rename ``staging`` to ``destination``; an older folder there is moved aside first, then deleted."""
    old: Path | None = None
    if destination.exists():
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        destination.rename(old)
    staging.rename(destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _noop_progress(phase: str, done: int, total: int) -> None:
    del phase, done, total


def convert_gguf(
    gguf_path: Path,
    destination: Path,
    *,
    layout: WeightLayout = "quantized",
    progress: Progress = _noop_progress,
    provenance: dict[str, Any] | None = None,
) -> ConversionResult:
    """Convert ``gguf_path`` into the mlx-lm folder ``destination`` (replaced atomically).

    ``provenance`` is written as ``conversion.json`` inside the folder, so the folder and the record of
    what it was made from appear together.
    """
    try:
        import tokenizers  # noqa: F401  # checked here so a missing extra fails before any work
    except ImportError:
        raise PrerequisiteError(
            "converting a GGUF model needs the tokenizers package: pip install 'mlx-benchmarks[mlx]'"
        ) from None
    steps = 5
    progress("reading GGUF", 0, steps)
    loaded = mx.load(str(gguf_path), return_metadata=True)
    tensors, metadata = cast(tuple[dict[str, mx.array], dict[str, Any]], loaded)
    config = config_from_metadata(metadata, tensors)
    file_type = GGUF_FILE_TYPES.get(int(_scalar(metadata, "general.file_type", -1)), "unknown")
    progress("converting tensors", 1, steps)
    weights, quantization = convert_tensors(tensors, config, layout)
    # quantized scales and biases stay float16; dequantized weights are the layout's dtype
    config["torch_dtype"] = "float16" if layout == "quantized" else layout
    if quantization is not None:
        config["quantization"] = quantization
        config["quantization_config"] = quantization
    mx.eval(weights)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        progress("writing weights", 2, steps)
        mx.save_safetensors(str(staging / "model.safetensors"), weights, metadata={"format": "mlx"})
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        progress("building tokenizer", 3, steps)
        write_tokenizer(metadata, staging, max_length=config["max_position_embeddings"])
        progress("finishing", 4, steps)
        record = {**(provenance or {}), "layout": layout, "file_type": file_type}
        (staging / CONVERSION_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress("done", steps, steps)
    bits = group = None
    if quantization is not None:
        bits, group = quantization["bits"], quantization["group_size"]
    return ConversionResult(destination, layout, bits, group, file_type)

"""GGUF -> mlx-lm conversion of the embedded model: tensors, config, tokenizer, cache, answers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover - exercised only where MLX is absent
    mx = None

pytestmark = [pytest.mark.mlx, pytest.mark.skipif(mx is None, reason="mlx.core is not importable")]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def llama_cpp_permute(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Reference: the permutation llama.cpp's convert script applies to Q/K rows (written from its spec)."""
    half = rows.shape[0] // n_heads // 2
    return rows.reshape(n_heads, 2, half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def greedy_answer(folder: Path, max_tokens: int = 10) -> str:
    from mlx_lm import generate, load

    model, tokenizer = load(str(folder))
    prompt = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    text: str = generate(model, tokenizer, prompt, max_tokens=max_tokens)
    return text


# ----- tensors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_heads", "head_dim"), [(1, 4), (3, 64), (9, 64)])
def test_unpermute_inverts_llama_cpp_permute(n_heads: int, head_dim: int) -> None:
    from mlx_benchmarks.targets.gguf_convert import unpermute_rows

    original = np.arange(n_heads * head_dim * 3, dtype=np.float32).reshape(n_heads * head_dim, 3)
    permuted = llama_cpp_permute(original, n_heads)
    assert not np.array_equal(permuted, original)  # the permutation really moves rows
    restored = np.array(unpermute_rows(mx.array(permuted), n_heads))
    np.testing.assert_array_equal(restored, original)


def test_unpermute_interleaves_rotary_halves() -> None:
    from mlx_benchmarks.targets.gguf_convert import unpermute_rows

    # one head of 4 rows: llama.cpp stores rows (0, 2, 1, 3); Hugging Face order is (0, 1, 2, 3)
    stored = mx.array([[0.0], [2.0], [1.0], [3.0]])
    assert np.array(unpermute_rows(stored, 1)).ravel().tolist() == [0.0, 1.0, 2.0, 3.0]


def test_unpermute_moves_quantized_rows_with_their_scales() -> None:
    from mlx_benchmarks.targets.gguf_convert import unpermute_rows

    n_heads, head_dim, width = 3, 8, 64
    weight = mx.random.normal((n_heads * head_dim, width), key=mx.random.key(3))
    packed, scales, biases = mx.quantize(weight, group_size=32, bits=4)
    as_gguf = [mx.array(llama_cpp_permute(np.array(t), n_heads)) for t in (packed, scales, biases)]
    restored = [unpermute_rows(t, n_heads) for t in as_gguf]
    expected = mx.dequantize(packed, scales, biases, group_size=32, bits=4)
    actual = mx.dequantize(*restored, group_size=32, bits=4)
    assert mx.array_equal(actual, expected).item()


def test_tensor_names_map_to_hugging_face_llama() -> None:
    from mlx_benchmarks.targets.gguf_convert import hf_tensor_name

    assert hf_tensor_name("blk.7.attn_q.weight") == "model.layers.7.self_attn.q_proj.weight"
    assert hf_tensor_name("blk.0.ffn_down.scales") == "model.layers.0.mlp.down_proj.scales"
    assert hf_tensor_name("blk.12.ffn_norm.weight") == "model.layers.12.post_attention_layernorm.weight"
    assert hf_tensor_name("token_embd.biases") == "model.embed_tokens.biases"
    assert hf_tensor_name("output_norm.weight") == "model.norm.weight"
    assert hf_tensor_name("rope_freqs.weight") is None


def test_config_follows_gguf_metadata(gguf_path: Path) -> None:
    from mlx_benchmarks.targets.gguf_convert import config_from_metadata, convert_tensors

    tensors, metadata = mx.load(str(gguf_path), return_metadata=True)
    config = config_from_metadata(metadata, tensors)
    assert config["model_type"] == "llama"
    assert config["rope_theta"] == pytest.approx(metadata["llama.rope.freq_base"].item())
    assert config["rms_norm_eps"] == 1e-5
    assert config["num_attention_heads"] == metadata["llama.attention.head_count"].item()
    assert config["num_key_value_heads"] == metadata["llama.attention.head_count_kv"].item()
    assert config["num_hidden_layers"] == metadata["llama.block_count"].item()
    assert config["tie_word_embeddings"] is ("output.weight" not in tensors)
    weights, quantization = convert_tensors(tensors, config, "quantized")
    assert quantization is not None
    assert (quantization["bits"], quantization["group_size"]) == (4, 32)
    # the tied embedding is 8-bit in this file; the per-module entry says so
    embed_bits = weights["model.embed_tokens.weight"].shape[-1] * 32 // config["hidden_size"]
    assert quantization.get("model.embed_tokens", {"bits": 4})["bits"] == embed_bits


# ----- tokenizer --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(embedded_model_dir: Path) -> Any:
    from mlx_lm.utils import load_tokenizer

    return load_tokenizer(embedded_model_dir)


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "  leading spaces,\ttabs\nand newlines\n\n",
        "digits 1234567890 and 3.14159",
        "unicode: café, naïve, 東京, emoji 🚀",
        "code: def f(x):\n    return x**2  # square",
    ],
)
def test_tokenizer_round_trips(tokenizer: Any, text: str) -> None:
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert ids
    assert tokenizer.decode(ids) == text


def test_tokenizer_uses_the_gguf_vocabulary(tokenizer: Any, gguf_metadata: dict[str, Any]) -> None:
    vocab = gguf_metadata["tokenizer.ggml.tokens"]
    # whole words with their leading space are single vocabulary entries
    assert tokenizer.encode(" the", add_special_tokens=False) == [vocab.index("Ġthe")]
    # the smollm pre-tokenizer splits digits one by one
    assert tokenizer.encode("2024", add_special_tokens=False) == [vocab.index(d) for d in "2024"]
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert tokenizer.encode(special, add_special_tokens=False) == [vocab.index(special)]
    assert tokenizer.eos_token == vocab[gguf_metadata["tokenizer.ggml.eos_token_id"].item()]
    assert tokenizer.bos_token == vocab[gguf_metadata["tokenizer.ggml.bos_token_id"].item()]
    assert tokenizer.eos_token_ids == {gguf_metadata["tokenizer.ggml.eos_token_id"].item()}


def test_chat_template_renders_chatml(tokenizer: Any) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert (
        prompt
        == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    default_system = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=False, tokenize=False)
    assert default_system.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert default_system.endswith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n")


# ----- whole conversions ----------------------------------------------------------------------------


def test_converted_model_answers_paris(embedded_model_dir: Path) -> None:
    assert "Paris" in greedy_answer(embedded_model_dir)


def test_quantized_layout_is_cached_and_answers_paris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlx_benchmarks.targets.embedded import ensure_embedded_model

    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))
    folder = ensure_embedded_model(layout="quantized")
    assert folder.parent == tmp_path / "models"
    record = json.loads((folder / "conversion.json").read_text())
    assert record["layout"] == "quantized"
    assert record["file_type"] == "Q4_1"
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization"]["bits"] == 4
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_embedded_model(layout="quantized") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not converted again
    assert [p.name for p in tmp_path.joinpath("models").iterdir() if p.is_dir()] == [folder.name]
    assert "Paris" in greedy_answer(folder)


def test_llama_cpp_row_order_gives_a_wrong_answer(embedded_model_dir: Path) -> None:
    """Control: the Paris test can fail. Putting Q/K rows back in llama.cpp's order breaks rotary attention."""
    from mlx_lm import generate, load

    model, tokenizer = load(str(embedded_model_dir))
    config = json.loads((embedded_model_dir / "config.json").read_text())
    for layer in model.model.layers:
        attention = layer.self_attn
        for proj, heads in (
            (attention.q_proj, config["num_attention_heads"]),
            (attention.k_proj, config["num_key_value_heads"]),
        ):
            for name in ("weight", "scales", "biases"):
                if name in proj:
                    proj[name] = mx.array(llama_cpp_permute(np.array(proj[name]), heads))
    prompt = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    assert "Paris" not in generate(model, tokenizer, prompt, max_tokens=10)


def test_failed_conversion_leaves_nothing_behind(
    gguf_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlx_benchmarks.targets import gguf_convert

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(gguf_convert, "write_tokenizer", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        gguf_convert.convert_gguf(gguf_path, tmp_path / "model", layout="quantized")
    assert os.listdir(tmp_path) == []

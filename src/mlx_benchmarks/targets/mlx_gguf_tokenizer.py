"""Rebuild a Hugging Face ``tokenizer.json`` from a GGUF file's GPT-2 style vocabulary, offline.

A GGUF file carries the byte-level BPE vocabulary, merges, token types and chat template, but not the
pre-tokenizer; llama.cpp names that by ``tokenizer.ggml.pre`` and hard-codes its regexes. We map the
names we know to the equivalent ``tokenizers`` pre-tokenizers and refuse the rest rather than build a
tokenizer that silently splits text differently from the model's training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

# token types in tokenizer.ggml.token_type (llama.cpp's llama_token_type)
_CONTROL = 3
_USER_DEFINED = 4

# llama.cpp splits digits one by one before the GPT-2 regex for these pre-tokenizer names
_DIGIT_SPLIT_PRE = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}
_GPT2_PRE = {"gpt2", "default", "mpt", "olmo", "jais"}


def _pre_tokenizer(pre: str) -> pre_tokenizers.PreTokenizer:
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if pre in _DIGIT_SPLIT_PRE:
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    if pre in _GPT2_PRE:
        return byte_level
    raise ValueError(f"GGUF pre-tokenizer {pre!r} is not supported by the converter")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def build_tokenizer(metadata: dict[str, Any]) -> Tokenizer:
    """A byte-level BPE ``Tokenizer`` equivalent to the GGUF vocabulary."""
    model_kind = metadata.get("tokenizer.ggml.model")
    if model_kind != "gpt2":
        raise ValueError(
            f"only GPT-2 style (byte-level BPE) GGUF vocabularies are supported, not {model_kind!r}"
        )
    tokens = [_text(t) for t in metadata["tokenizer.ggml.tokens"]]
    merges: list[tuple[str, str]] = []
    for merge in metadata["tokenizer.ggml.merges"]:
        left, _, right = _text(merge).partition(" ")
        merges.append((left, right))
    vocab = {token: index for index, token in enumerate(tokens)}
    bpe = models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False)
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = _pre_tokenizer(_text(metadata.get("tokenizer.ggml.pre", "default")))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    types = metadata.get("tokenizer.ggml.token_type")
    type_list: list[int] = [int(t) for t in types.tolist()] if types is not None else []
    specials = [
        AddedToken(tokens[i], special=kind == _CONTROL, normalized=False)
        for i, kind in enumerate(type_list)
        if kind in (_CONTROL, _USER_DEFINED)
    ]
    tokenizer.add_tokens(specials)
    return tokenizer


def _token(metadata: dict[str, Any], role: str) -> str | None:
    index = metadata.get(f"tokenizer.ggml.{role}_token_id")
    if index is None:
        return None
    return _text(metadata["tokenizer.ggml.tokens"][int(index.item() if hasattr(index, "item") else index)])


def tokenizer_config(metadata: dict[str, Any], max_length: int) -> dict[str, Any]:
    """``tokenizer_config.json``: chat template and the special tokens named by the GGUF."""
    add_bos = metadata.get("tokenizer.ggml.add_bos_token")
    config: dict[str, Any] = {
        # the generic class loads tokenizer.json as written, pre-tokenizer included
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": bool(add_bos.item()) if add_bos is not None else False,
        "add_eos_token": False,
    }
    for role, key in (
        ("bos", "bos_token"),
        ("eos", "eos_token"),
        ("unknown", "unk_token"),
        ("padding", "pad_token"),
    ):
        token = _token(metadata, role)
        if token is not None:
            config[key] = token
    template = metadata.get("tokenizer.chat_template")
    if template is not None:
        config["chat_template"] = _text(template)
    return config


def write_tokenizer(metadata: dict[str, Any], folder: Path, *, max_length: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` to ``folder``."""
    tokenizer = build_tokenizer(metadata)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = tokenizer_config(metadata, max_length)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    special = {k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if k in config}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")

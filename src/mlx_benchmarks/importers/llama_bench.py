"""llama.cpp ``llama-bench -o json`` -> envelope.

Each test row becomes one result: ``pp512`` (prompt processing) fills prompt_tokens_per_second,
``tg128`` (generation) fills decode_tokens_per_second, ``pp512+tg128`` fills total_tokens_per_second.
Per-repetition samples are kept in ``raw.trials`` so comparisons get error bars.

A test run over a filled context (``llama-bench -d 4096``, ``n_depth``) measures something else than one over an
empty one, so the depth is part of the name as llama-bench prints it: ``tg128@d4096`` (llama-bench's table says
``tg128 @ d4096``); at depth 0 the name stays the plain ``tg128``. Every result also carries a ``depth`` tag.
"""

from __future__ import annotations

from typing import Any

from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.errors import EnvelopeInvalid
from mlx_benchmarks.importers.common import (
    ImportContext,
    dropped,
    finite_float,
    is_number,
    scrub_nonfinite,
    shape_error,
)

KIND = "llama-bench"
SETTINGS = ("build_commit", "build_number", "backends", "cpu_info", "gpu_info", "model_type", "model_size",
            "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "n_gpu_layers", "flash_attn",
            "n_depth")


def _rows(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not document:
        raise ValueError("expected a JSON array of test objects")
    if not all(isinstance(row, dict) and "avg_ts" in row for row in document):
        raise ValueError("test objects lack avg_ts")
    return document


def _quant(model_type: str) -> str | None:
    """'llama 1B Q4_0' -> 'Q4_0'."""
    parts = model_type.split()
    return parts[-1] if len(parts) >= 2 else None


def _depth(row: dict[str, Any], source: str) -> int:
    """Tokens already in the context (``n_depth``; absent in older llama-bench builds, meaning 0)."""
    depth = row.get("n_depth") or 0
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise shape_error(KIND, source, f"n_depth {depth!r} is not a token count")
    return depth


def result_name(n_prompt: int, n_gen: int, depth: int) -> str:
    """``pp512``, ``tg128``, ``pp512+tg128``, and ``@d<depth>`` after it over a filled context."""
    name = "+".join(part for part in (f"pp{n_prompt}" if n_prompt else "", f"tg{n_gen}" if n_gen else "") if part)
    return (name or "test") + (f"@d{depth}" if depth else "")


def to_envelope(document: Any, context: ImportContext) -> Envelope:
    try:
        rows = _rows(document)
    except ValueError as exc:
        raise shape_error(KIND, context.source, str(exc)) from None
    first = rows[0]
    model = str(first.get("model_filename") or first.get("model_type") or "unknown").rsplit("/", 1)[-1]
    stamp = first.get("test_time")
    envelope = context.envelope(model, stamp if isinstance(stamp, str) and stamp.endswith("Z") else utc_now_iso())
    if isinstance(first.get("model_type"), str):
        envelope.quantization = _quant(first["model_type"])
    if isinstance(first.get("cpu_info"), str) and first["cpu_info"]:
        envelope.system = {**envelope.system, "chip": first["cpu_info"]}
    for row in rows:
        n_prompt = int(row.get("n_prompt") or 0)
        n_gen = int(row.get("n_gen") or 0)
        depth = _depth(row, context.source)
        tps = finite_float(row["avg_ts"])
        if tps is None:  # llama-bench writes "nan" when a test failed: no figure, and say so
            envelope.errors.append(dropped(f"{result_name(n_prompt, n_gen, depth)} avg_ts", row["avg_ts"]))
            continue
        result = Result(name=result_name(n_prompt, n_gen, depth), metric="throughput", value=tps, unit="tok/s")
        if n_prompt and n_gen:
            result.total_tokens_per_second = tps
        elif n_prompt:
            result.prompt_tokens_per_second = tps
        else:
            result.decode_tokens_per_second = tps
        if is_number(row.get("avg_ns")):
            result.duration_seconds = float(row["avg_ns"]) / 1e9
        result.tag(n_prompt=n_prompt, n_gen=n_gen, depth=depth, imported_from=KIND, source=context.source,
                   **{k: row[k] for k in SETTINGS if isinstance(row.get(k), (str, int, float, bool))})
        if is_number(row.get("stddev_ts")):
            result.tag(stddev=row["stddev_ts"])
        trials = row.get("samples_ts")
        result.raw = scrub_nonfinite({"trials": trials if isinstance(trials, list) else [], "row": row},
                                     envelope.errors, f"{result.name} raw")
        envelope.results.append(result)
    if not envelope.results:
        raise EnvelopeInvalid(f"{context.source}: no llama-bench test has a finite avg_ts ({'; '.join(envelope.errors)[:200]})")
    return envelope

"""llama.cpp ``llama-bench -o json`` -> envelope.

Each test row becomes one result: ``pp512`` (prompt processing) fills prompt_tokens_per_second,
``tg128`` (generation) fills decode_tokens_per_second, ``pp512+tg128`` fills total_tokens_per_second.
Per-repetition samples are kept in ``raw.trials`` so comparisons get error bars.
"""

from __future__ import annotations

from typing import Any

from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.importers.common import ImportContext, is_number, shape_error

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
        name = "+".join(part for part in (f"pp{n_prompt}" if n_prompt else "", f"tg{n_gen}" if n_gen else "") if part)
        tps = float(row["avg_ts"])
        result = Result(name=name or "test", metric="throughput", value=tps, unit="tok/s")
        if n_prompt and n_gen:
            result.total_tokens_per_second = tps
        elif n_prompt:
            result.prompt_tokens_per_second = tps
        else:
            result.decode_tokens_per_second = tps
        if is_number(row.get("avg_ns")):
            result.duration_seconds = float(row["avg_ns"]) / 1e9
        result.tag(n_prompt=n_prompt, n_gen=n_gen, imported_from=KIND, source=context.source,
                   **{k: row[k] for k in SETTINGS if isinstance(row.get(k), (str, int, float, bool))})
        if is_number(row.get("stddev_ts")):
            result.tag(stddev=row["stddev_ts"])
        trials = row.get("samples_ts")
        result.raw = {"trials": trials if isinstance(trials, list) else [], "row": row}
        envelope.results.append(result)
    return envelope

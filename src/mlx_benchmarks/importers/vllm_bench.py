"""vLLM ``vllm bench serve`` / ``benchmark_serving.py --save-result`` JSON -> envelope.

Throughput figures become results in tok/s or req/s; every TTFT / TPOT / ITL / E2EL statistic
(mean, median, std, pNN) becomes a result in ms. Per-request arrays stay in ``raw``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.importers.common import (
    ImportContext,
    dropped,
    is_nonfinite,
    is_number,
    scrub_nonfinite,
    shape_error,
    tags_of,
)

KIND = "vllm"
LATENCY_RE = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
THROUGHPUT = {
    "request_throughput": ("requests_per_second", "req/s"),
    "request_goodput": ("goodput_requests_per_second", "req/s"),
    "output_throughput": ("output_tokens_per_second", "tok/s"),
    "total_token_throughput": ("total_tokens_per_second", "tok/s"),
    "max_output_tokens_per_s": ("max_output_tokens_per_second", "tok/s"),
}
PER_REQUEST = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times")
SETTINGS = ("backend", "model_id", "tokenizer_id", "num_prompts", "request_rate", "burstiness", "max_concurrency",
            "completed", "total_input_tokens", "total_output_tokens", "endpoint_type", "label")


def _timestamp(value: Any) -> str | None:
    if isinstance(value, str):
        for fmt in ("%Y%m%d-%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(value, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                continue
    return None


def to_envelope(document: Any, context: ImportContext) -> Envelope:
    if not isinstance(document, dict):
        raise shape_error(KIND, context.source, "the top level is not an object")
    if not any(key in document for key in ("request_throughput", "output_throughput", "mean_ttft_ms")):
        raise shape_error(KIND, context.source, "no request_throughput / output_throughput / mean_ttft_ms")
    model = str(document.get("model_id") or document.get("model") or "unknown")
    envelope = context.envelope(model, _timestamp(document.get("date")) or utc_now_iso())
    settings = tags_of({k: document[k] for k in SETTINGS if k in document})
    duration = float(document["duration"]) if is_number(document.get("duration")) else None
    completed = document.get("completed")
    input_tokens = document.get("total_input_tokens")
    output_tokens = document.get("total_output_tokens")
    median_ttft = document.get("median_ttft_ms")
    for key, (name, unit) in THROUGHPUT.items():
        if not is_number(document.get(key)):
            if is_nonfinite(document.get(key)):
                envelope.errors.append(dropped(key, document[key]))
            continue
        result = Result(name=name, metric="throughput", value=float(document[key]), unit=unit,
                        duration_seconds=duration)
        if duration and is_number(output_tokens) and key == "output_throughput":
            result.decode_tokens_per_second = float(document[key])
            total = document.get("total_token_throughput")
            result.total_tokens_per_second = float(total) if is_number(total) and total else None
            if is_number(input_tokens):
                result.prompt_tokens_per_second = float(input_tokens) / duration
            if is_number(median_ttft):
                result.first_token_latency_ms = float(median_ttft)
        envelope.results.append(result.tag(**settings, imported_from=KIND, source=context.source))
    for key, value in document.items():
        match = LATENCY_RE.match(key)
        if match and is_nonfinite(value):
            envelope.errors.append(dropped(key, value))
        elif match and is_number(value):
            stat, quantity = match.groups()
            result = Result(name=f"{quantity}_{stat}", metric="latency", value=float(value), unit="ms")
            result.tag(statistic=stat, quantity=quantity, vllm_key=key, imported_from=KIND, source=context.source,
                       higher_is_better=False)
            envelope.results.append(result)
    if not envelope.results:
        raise shape_error(KIND, context.source, "no numeric throughput or latency fields")
    if is_number(completed) and is_number(document.get("num_prompts")) and completed < document["num_prompts"]:
        envelope.errors.append(f"{int(document['num_prompts'] - completed)} of {document['num_prompts']} requests failed")
    known = set(THROUGHPUT) | set(SETTINGS) | {"date", "duration"}
    extra = {k: v for k, v in document.items() if k not in known and not LATENCY_RE.match(k)}
    if extra:
        per_request = {k: v for k, v in extra.items() if k in PER_REQUEST}
        raw = {"per_request": per_request, "other": {k: v for k, v in extra.items() if k not in PER_REQUEST}}
        envelope.results[0].raw = scrub_nonfinite(raw, envelope.errors, "raw")
    return envelope

"""vLLM ``vllm bench serve`` / ``benchmark_serving.py --save-result`` JSON -> envelope.

The keys the seed project's converter (``mlx-bench-publish``) names become its results, so one dataset fed by
both tools holds one series: name ``benchmark_serving``, metric ``throughput_output_toks_per_s``,
``throughput_total_toks_per_s`` (tok/s), ``throughput_requests_per_s`` (req/s), ``ttft_p50_ms``,
``ttft_p99_ms``, ``itl_p50_ms``, ``itl_p99_ms``, ``tpot_p50_ms``, ``tpot_p99_ms`` (ms), each with the run's
``duration_seconds`` and its tags ``completed_requests``, ``total_input_tokens``, ``total_output_tokens``.
Every other figure is ours: goodput and peak output throughput as ``<what>_per_second``/``throughput``, every
other TTFT / TPOT / ITL / E2EL statistic (mean, median, std, pNN) as ``<quantity>_<stat>``/``latency`` in ms.
Ours on every result besides (``EXTRA_TAGS``): the run's settings, ``vllm_key``, provenance. Per-request arrays
stay in ``raw``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.importers.common import (
    ImportContext,
    dropped,
    is_number,
    scrub_nonfinite,
    shape_error,
    tags_of,
)

KIND = "vllm"
SERVING = "benchmark_serving"  # the seed converter's one result name
LATENCY_RE = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
# the seed converter's names (mlx_benchmarks/converters/vllm.py at the pinned commit)
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "output_throughput": ("throughput_output_toks_per_s", "tok/s"),
    "total_token_throughput": ("throughput_total_toks_per_s", "tok/s"),
    "request_throughput": ("throughput_requests_per_s", "req/s"),
    "median_ttft_ms": ("ttft_p50_ms", "ms"),
    "p99_ttft_ms": ("ttft_p99_ms", "ms"),
    "median_itl_ms": ("itl_p50_ms", "ms"),
    "p99_itl_ms": ("itl_p99_ms", "ms"),
    "median_tpot_ms": ("tpot_p50_ms", "ms"),
    "p99_tpot_ms": ("tpot_p99_ms", "ms"),
}
# throughput keys the converter does not name: ours
THROUGHPUT = {
    "request_goodput": ("goodput_requests_per_second", "req/s"),
    "max_output_tokens_per_s": ("max_output_tokens_per_second", "tok/s"),
}
# what these importers called the converter's three throughput results before (read-time alias: compare.names)
FORMER_THROUGHPUT_NAMES = {"requests_per_second": "request_throughput", "output_tokens_per_second": "output_throughput",
                           "total_tokens_per_second": "total_token_throughput"}
PER_REQUEST = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times")
SETTINGS = ("backend", "model_id", "tokenizer_id", "num_prompts", "request_rate", "burstiness", "max_concurrency",
            "completed", "total_input_tokens", "total_output_tokens", "endpoint_type", "label")
EXTRA_TAGS = (*SETTINGS, "vllm_key", "imported_from", "source", "statistic", "quantity", "higher_is_better")


def _timestamp(value: Any) -> str | None:
    if isinstance(value, str):
        for fmt in ("%Y%m%d-%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(value, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                continue
    return None


def _shared_tags(document: dict[str, Any], context: ImportContext) -> dict[str, str]:
    """The converter's tags, with its precedence: the user's tags, then its counts."""
    out = dict(context.extra_tags)
    for key, tag in (("completed", "completed_requests"), ("total_input_tokens", "total_input_tokens"),
                     ("total_output_tokens", "total_output_tokens")):
        if is_number(document.get(key)):
            out[tag] = str(int(document[key]))
    return out


def _throughput_fields(result: Result, document: dict[str, Any], duration: float | None) -> None:
    """The envelope's throughput fields on the output-throughput result."""
    output = float(document["output_throughput"])
    if not duration or not is_number(document.get("total_output_tokens")):
        return
    result.decode_tokens_per_second = output
    total = document.get("total_token_throughput")
    result.total_tokens_per_second = float(total) if is_number(total) and total else None
    if is_number(document.get("total_input_tokens")):
        result.prompt_tokens_per_second = float(document["total_input_tokens"]) / duration
    if is_number(document.get("median_ttft_ms")):
        result.first_token_latency_ms = float(document["median_ttft_ms"])


def _result(key: str, value: float, duration: float | None) -> Result:
    if key in METRIC_NAMES:
        metric, unit = METRIC_NAMES[key]
        return Result(name=SERVING, metric=metric, value=value, unit=unit, duration_seconds=duration)
    if key in THROUGHPUT:
        name, unit = THROUGHPUT[key]
        return Result(name=name, metric="throughput", value=value, unit=unit, duration_seconds=duration)
    stat, quantity = LATENCY_RE.match(key).groups()  # type: ignore[union-attr]
    return Result(name=f"{quantity}_{stat}", metric="latency", value=value, unit="ms")


def to_envelope(document: Any, context: ImportContext) -> Envelope:
    if not isinstance(document, dict):
        raise shape_error(KIND, context.source, "the top level is not an object")
    if not any(key in document for key in ("request_throughput", "output_throughput", "mean_ttft_ms")):
        raise shape_error(KIND, context.source, "no request_throughput / output_throughput / mean_ttft_ms")
    model = str(document.get("model_id") or document.get("model") or "unknown")
    envelope = context.envelope(model, _timestamp(document.get("date")) or utc_now_iso())
    ours = {**tags_of({k: document[k] for k in SETTINGS if k in document}), "imported_from": KIND,
            "source": context.source}
    shared = _shared_tags(document, context)
    duration = float(document["duration"]) if is_number(document.get("duration")) else None
    # the converter's keys in its order, then ours in the file's order
    keys = [k for k in METRIC_NAMES if k in document]
    keys += [k for k in (*THROUGHPUT, *document) if k not in METRIC_NAMES and k in document
             and (k in THROUGHPUT or LATENCY_RE.match(k))]
    for key in dict.fromkeys(keys):
        value = document[key]
        if value is None:  # vLLM writes null for what it did not compute (request_goodput without an SLO)
            continue
        if not is_number(value):  # NaN, text, an object: said, never dropped silently
            envelope.errors.append(dropped(key, value))
            continue
        result = _result(key, float(value), duration)
        latency = LATENCY_RE.match(key)
        extra = {"statistic": latency.group(1), "quantity": latency.group(2), "higher_is_better": "false"} if latency else {}
        result.tags = {**ours, "vllm_key": key, **extra, **shared}
        if key == "output_throughput":
            _throughput_fields(result, document, duration)
        envelope.results.append(result)
    if not envelope.results:
        raise shape_error(KIND, context.source, "no numeric throughput or latency fields")
    completed = document.get("completed")
    if is_number(completed) and is_number(document.get("num_prompts")) and completed < document["num_prompts"]:
        envelope.errors.append(f"{int(document['num_prompts'] - completed)} of {document['num_prompts']} requests failed")
    known = {*METRIC_NAMES, *THROUGHPUT, *SETTINGS, "date", "duration"}
    extra_keys = {k: v for k, v in document.items() if k not in known and not LATENCY_RE.match(k)}
    if extra_keys:
        per_request = {k: v for k, v in extra_keys.items() if k in PER_REQUEST}
        raw = {"per_request": per_request, "other": {k: v for k, v in extra_keys.items() if k not in PER_REQUEST}}
        envelope.results[0].raw = scrub_nonfinite(raw, envelope.errors, "raw")
    return envelope

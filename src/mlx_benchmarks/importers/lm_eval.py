"""lm-evaluation-harness ``results_*.json`` -> envelope.

Every numeric metric becomes a result (``exact_match,strict-match`` -> metric ``exact_match_strict_match``
with the original key in ``lm_eval_key``); its ``_stderr`` twin is kept as a tag. ``n_limit``, n-shot,
gen_kwargs, seed and model revision come from the file's config; everything else is kept in ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

from mlx_benchmarks.envelope import Envelope, GenKwargs, Result, tag_value, utc_now_iso
from mlx_benchmarks.importers.common import (
    ImportContext,
    dropped,
    is_nonfinite,
    is_number,
    iso_from_epoch,
    scrub_nonfinite,
    shape_error,
)

KIND = "lm-eval"
KNOWN_TOP = {"results", "groups", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config",
             "git_hash", "date", "model_name", "total_evaluation_time_seconds", "lm_eval_version"}


def _model_args(config: dict[str, Any]) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {k: str(v) for k, v in args.items()}
    if isinstance(args, str):
        return dict(part.split("=", 1) for part in args.split(",") if "=" in part)
    return {}


def _metric_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", key.replace(",", "_")).strip("_")


def _gen_kwargs(document: dict[str, Any], task: str) -> dict[str, Any]:
    configs = document.get("configs") or {}
    task_config = configs.get(task) if isinstance(configs, dict) else None
    found = (task_config or {}).get("generation_kwargs") or {}
    cli = (document.get("config") or {}).get("gen_kwargs")
    if isinstance(cli, dict):
        found = {**found, **cli}
    return found if isinstance(found, dict) else {}


def _gen_kwargs_block(kwargs: dict[str, Any]) -> GenKwargs | None:
    block = GenKwargs(
        max_gen_toks=int(kwargs["max_gen_toks"]) if is_number(kwargs.get("max_gen_toks")) else None,
        temperature=float(kwargs["temperature"]) if is_number(kwargs.get("temperature")) else None,
        top_p=float(kwargs["top_p"]) if is_number(kwargs.get("top_p")) else None,
        top_k=int(kwargs["top_k"]) if is_number(kwargs.get("top_k")) else None,
    )
    return block if block.to_json() else None


def to_envelope(document: Any, context: ImportContext) -> Envelope:
    if not isinstance(document, dict):
        raise shape_error(KIND, context.source, "the top level is not an object")
    results = document.get("results")
    if not isinstance(results, dict) or not results:
        raise shape_error(KIND, context.source, "no 'results' object of tasks")
    if not all(isinstance(v, dict) for v in results.values()):
        raise shape_error(KIND, context.source, "'results' entries are not task objects")
    found_config = document.get("config")
    config: dict[str, Any] = found_config if isinstance(found_config, dict) else {}
    model_args = _model_args(config)
    model = str(document.get("model_name") or model_args.get("pretrained") or model_args.get("model") or "unknown")
    timestamp = iso_from_epoch(document.get("date")) or iso_from_epoch(document.get("start_time"))
    envelope = context.envelope(model, timestamp or utc_now_iso())
    if model_args.get("revision"):
        envelope.model_revision = model_args["revision"]
    seed = config.get("random_seed", config.get("seed"))
    if is_number(seed):
        envelope.seed = int(seed)
    n_samples = document.get("n-samples") or {}
    n_shot = document.get("n-shot") or {}
    total_time = document.get("total_evaluation_time_seconds")
    duration = float(total_time) if isinstance(total_time, (int, float, str)) and _floatable(total_time) else None
    limit = config.get("limit")
    gen_kwargs: dict[str, Any] = {}
    for task, metrics in results.items():
        task_gen = _gen_kwargs(document, task)
        gen_kwargs = gen_kwargs or task_gen
        samples = n_samples.get(task) if isinstance(n_samples, dict) else None
        for key, value in metrics.items():
            if "_stderr" in key:
                continue
            if not is_number(value):
                if is_nonfinite(value):
                    envelope.errors.append(dropped(f"{task} {key}", value))
                continue
            metric, _, filter_name = key.partition(",")
            result = Result(name=task, metric=_metric_name(key), value=float(value), unit="ratio" if _is_ratio(value) else "score")
            stderr = metrics.get(f"{metric}_stderr,{filter_name}" if filter_name else f"{metric}_stderr")
            result.tag(lm_eval_key=key, imported_from=KIND, source=context.source)
            if is_number(stderr):
                result.tag(stderr=stderr)
            result.tag(n_limit=tag_value(limit) if limit is not None else "all")
            if isinstance(samples, dict):
                result.tag(n_samples=samples.get("effective", ""), n_samples_original=samples.get("original", ""))
            if isinstance(n_shot, dict) and task in n_shot:
                result.tag(num_fewshot=n_shot[task])
            if duration is not None and len(results) == 1:
                result.duration_seconds = duration
            elif duration is not None:
                # lm-eval records one total time; say so rather than invent per-task splits
                result.tag(total_eval_time_s=duration, duration_scope="whole lm-eval run")
            if metrics.get("alias"):
                result.tag(alias=metrics["alias"])
            result.tags.update(context.extra_tags)
            envelope.results.append(result)
    if not envelope.results:
        raise shape_error(KIND, context.source, "no numeric metrics in 'results'")
    envelope.gen_kwargs = _gen_kwargs_block(gen_kwargs)
    unknown = {k: v for k, v in document.items() if k not in KNOWN_TOP}
    raw = {"lm_eval_unknown_keys": unknown, "config": config} if unknown or config else None
    envelope.results[0].raw = scrub_nonfinite(raw, envelope.errors, "raw")
    return envelope


def _is_ratio(value: float) -> bool:
    return 0.0 <= float(value) <= 1.0


def _floatable(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True

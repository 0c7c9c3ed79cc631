"""lm-evaluation-harness ``results_*.json`` -> envelope.

Every numeric metric becomes a result named after its task. The keys the seed project's converter
(``mlx-bench-publish``) names get its names, unit, ``duration_seconds`` and tags, so one dataset fed by both
tools holds one series: ``acc,none`` -> ``accuracy``, ``acc_norm,none`` -> ``accuracy_normalized``,
``pass@1,none`` -> ``pass_at_1``, ``exact_match,strict-match`` -> ``exact_match_strict``,
``exact_match,flexible-extract`` -> ``exact_match_flexible`` (unit ``ratio``). Any other key is ours:
non-alphanumerics to ``_`` (``bleu,none`` -> ``bleu_none``), unit ``ratio`` for a value in [0, 1], else ``score``.

Tags shared with that converter: ``lm_eval_key``, ``total_eval_time_s`` (the whole run's time, as written),
``n_limit`` (``--limit`` as written, when given), ``max_gen_toks`` (the command line's); ``duration_seconds`` only
from ``total_evaluation_time_seconds_per_task``. Ours besides (``EXTRA_TAGS``): provenance, the ``_stderr`` twin,
sample counts, and the configuration keys ``compare`` pairs on (``lm_eval_tasks``). Everything else is in ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

from mlx_benchmarks.envelope import Envelope, GenKwargs, Result, tag_value, utc_now_iso
from mlx_benchmarks.importers.common import (
    ImportContext,
    dropped,
    is_number,
    iso_from_epoch,
    scrub_nonfinite,
    shape_error,
)
from mlx_benchmarks.importers.lm_eval_tasks import comparison_tags

KIND = "lm-eval"
KNOWN_TOP = {"results", "groups", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config",
             "git_hash", "date", "model_name", "total_evaluation_time_seconds", "lm_eval_version",
             "total_evaluation_time_seconds_per_task"}
# the seed converter's names (mlx_benchmarks/converters/lm_eval.py at the pinned commit); unit "ratio"
METRIC_NAMES = {
    "acc,none": "accuracy",
    "acc_norm,none": "accuracy_normalized",
    "pass@1,none": "pass_at_1",
    "exact_match,strict-match": "exact_match_strict",
    "exact_match,flexible-extract": "exact_match_flexible",
}
# tags we add to the converter's (docs/compare.md); a user's --tag of the same key wins over ours
EXTRA_TAGS = ("imported_from", "source", "stderr", "n_samples", "n_samples_original", "alias", "duration_scope",
              "n_limit", "num_fewshot", "scoring", "subset", "reference", "dataset", "dataset_source")


def _model_args(config: dict[str, Any]) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {k: str(v) for k, v in args.items()}
    if isinstance(args, str):
        return dict(part.split("=", 1) for part in args.split(",") if "=" in part)
    return {}


def metric_name(key: str) -> str:
    """The metric a key is stored under: the seed converter's name, else ours."""
    return METRIC_NAMES.get(key) or re.sub(r"[^A-Za-z0-9]+", "_", key.replace(",", "_")).strip("_")


def _unit(key: str, value: float) -> str:
    return "ratio" if key in METRIC_NAMES or 0.0 <= value <= 1.0 else "score"


def _shared_tags(document: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """The tags the seed converter writes on every result besides ``lm_eval_key``, as it renders them."""
    out: dict[str, str] = {}
    if document.get("total_evaluation_time_seconds") is not None:
        out["total_eval_time_s"] = str(document["total_evaluation_time_seconds"])
    if config.get("limit") is not None:
        out["n_limit"] = str(config["limit"])
    cli_kwargs = config.get("gen_kwargs")
    if isinstance(cli_kwargs, dict) and cli_kwargs.get("max_gen_toks") is not None:
        out["max_gen_toks"] = str(cli_kwargs["max_gen_toks"])
    return out


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
    per_task = document.get("total_evaluation_time_seconds_per_task")
    durations: dict[str, Any] = per_task if isinstance(per_task, dict) else {}
    shared = _shared_tags(document, config)
    gen_kwargs: dict[str, Any] = {}
    for task, metrics in results.items():
        task_gen = _gen_kwargs(document, task)
        gen_kwargs = gen_kwargs or task_gen
        samples = n_samples.get(task) if isinstance(n_samples, dict) else None
        for key, value in metrics.items():
            if key == "alias":
                continue
            if "stderr" in key:  # a tag of its metric; lm-eval writes "N/A" where it computed none
                if not is_number(value) and value != "N/A":
                    envelope.errors.append(dropped(f"{task} {key}", value))
                continue
            if not is_number(value):  # said, never dropped silently
                envelope.errors.append(dropped(f"{task} {key}", value))
                continue
            result = Result(name=task, metric=metric_name(key), value=float(value), unit=_unit(key, float(value)))
            ours = _our_tags(document, task, key, metrics, samples, config.get("limit"), context)
            # the converter's precedence: lm_eval_key, then the user's tags, then its own
            result.tags = {**ours, "lm_eval_key": key, **context.extra_tags, **shared}
            if is_number(durations.get(task)):
                result.duration_seconds = float(durations[task])
            envelope.results.append(result)
    if not envelope.results:
        raise shape_error(KIND, context.source, "no numeric metrics in 'results'")
    envelope.gen_kwargs = _gen_kwargs_block(gen_kwargs)
    unknown = {k: v for k, v in document.items() if k not in KNOWN_TOP}
    raw = {"lm_eval_unknown_keys": unknown, "config": config} if unknown or config else None
    envelope.results[0].raw = scrub_nonfinite(raw, envelope.errors, "raw")
    return envelope


def _our_tags(document: dict[str, Any], task: str, key: str, metrics: dict[str, Any], samples: Any,
              limit: Any, context: ImportContext) -> dict[str, str]:
    """``EXTRA_TAGS``: provenance, the stderr twin, sample counts and our configuration keys."""
    metric, _, filter_name = key.partition(",")
    stderr = metrics.get(f"{metric}_stderr,{filter_name}" if filter_name else f"{metric}_stderr")
    out = {"imported_from": KIND, "source": context.source}
    if is_number(stderr):
        out["stderr"] = tag_value(stderr)
    if isinstance(samples, dict):
        out.update(n_samples=str(samples.get("effective", "")), n_samples_original=str(samples.get("original", "")))
    if metrics.get("alias"):
        out["alias"] = str(metrics["alias"])
    if document.get("total_evaluation_time_seconds") is not None:
        out["duration_scope"] = "whole lm-eval run"  # total_eval_time_s is the run's, not this task's
    out["n_limit"] = "all"  # replaced by the converter's own n_limit when --limit was given
    out.update(comparison_tags(document, task, key, limit))
    return out

"""One name per measurement: the (name, metric) under which compare, trend and the views read a stored result.

Stores are append-only, and results written before an importer took the seed converter's names keep their old
names on disk; so does every native log-likelihood result (``acc`` / ``acc_norm``, the names of our scorer and
of lm-eval's own metric keys). They are read under one name, never rewritten:

- an lm-eval import (tag ``imported_from=lm-eval``) whose ``lm_eval_key`` the converter names: that name
  (``exact_match_flexible_extract`` -> ``exact_match_flexible``, ``acc_none`` -> ``accuracy``);
- a vLLM import whose ``vllm_key`` the converter names, or one of the former throughput results
  (``output_tokens_per_second``/``throughput``): ``benchmark_serving`` / the converter's metric;
- a native log-likelihood result (tag ``scoring=loglikelihood``, not imported): ``acc`` -> ``accuracy``,
  ``acc_norm`` -> ``accuracy_normalized``, the names lm-eval imports carry for the same lm-eval 0.4 metrics.

``current_name`` is the rule in Python (``compare``); ``names_sql`` the same rule in SQL (``trend`` and the views,
through ``config_key.with_config_sql``); a test holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlx_benchmarks.importers.lm_eval import METRIC_NAMES as LM_EVAL_NAMES
from mlx_benchmarks.importers.vllm_bench import FORMER_THROUGHPUT_NAMES, SERVING
from mlx_benchmarks.importers.vllm_bench import METRIC_NAMES as VLLM_NAMES

LOGLIK_NAMES = {"acc": LM_EVAL_NAMES["acc,none"], "acc_norm": LM_EVAL_NAMES["acc_norm,none"]}


def current_name(name: str, metric: str, tags: Mapping[str, Any] | None) -> tuple[str, str]:
    """The (name, metric) a result is read under."""
    tags = tags or {}
    source = tags.get("imported_from")
    if source == "lm-eval" and tags.get("lm_eval_key") in LM_EVAL_NAMES:
        return name, LM_EVAL_NAMES[str(tags["lm_eval_key"])]
    if source == "vllm":
        key = tags.get("vllm_key")
        if key not in VLLM_NAMES and metric == "throughput":
            key = FORMER_THROUGHPUT_NAMES.get(name)
        if key in VLLM_NAMES:
            return SERVING, VLLM_NAMES[str(key)][0]
        return name, metric
    if source is None and tags.get("scoring") == "loglikelihood" and metric in LOGLIK_NAMES:
        return name, LOGLIK_NAMES[metric]
    return name, metric


def result_name(result: Mapping[str, Any]) -> tuple[str, str]:
    """``current_name`` of an envelope's result."""
    tags = result.get("tags")
    return current_name(str(result["name"]), str(result["metric"]), tags if isinstance(tags, Mapping) else None)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case(subject: str, mapping: Mapping[str, str]) -> str:
    return f"CASE {subject} " + " ".join(f"WHEN {_quote(k)} THEN {_quote(v)}" for k, v in mapping.items()) + " END"


def _in(subject: str, values: Iterable[str]) -> str:
    return f"{subject} IN ({', '.join(_quote(v) for v in values)})"


NAME_TAGS = ("imported_from", "lm_eval_key", "vllm_key", "scoring")
_EXTRACTED = "_name_tags"


def names_sql() -> tuple[str, str]:
    """DuckDB expressions of ``current_name`` over a results row: (name, metric). They read the row's
    ``NAME_TAGS`` from the column ``_name_tags`` (``name_tags_sql``), parsed once per row."""
    def tag(key: str) -> str:
        return f"{_EXTRACTED}[{NAME_TAGS.index(key) + 1}]"

    name, metric = "name", "metric"
    source, vllm_key = tag("imported_from"), tag("vllm_key")
    former = f"({metric} = 'throughput' AND {_in(name, FORMER_THROUGHPUT_NAMES)})"
    vllm_named = f"({source} = 'vllm' AND ({_in(vllm_key, VLLM_NAMES)} OR {former}))"
    vllm_metric = (f"coalesce({_case(vllm_key, {k: v[0] for k, v in VLLM_NAMES.items()})}, "
                   f"{_case(name, {old: VLLM_NAMES[key][0] for old, key in FORMER_THROUGHPUT_NAMES.items()})})")
    new_name = f"CASE WHEN {vllm_named} THEN {_quote(SERVING)} ELSE {name} END"
    new_metric = (
        f"CASE WHEN {source} = 'lm-eval' AND {_in(tag('lm_eval_key'), LM_EVAL_NAMES)} "
        f"THEN {_case(tag('lm_eval_key'), LM_EVAL_NAMES)} "
        f"WHEN {vllm_named} THEN {vllm_metric} "
        f"WHEN {source} IS NULL AND {tag('scoring')} = 'loglikelihood' AND {_in(metric, LOGLIK_NAMES)} "
        f"THEN {_case(metric, LOGLIK_NAMES)} ELSE {metric} END"
    )
    return new_name, new_metric


def name_tags_sql() -> str:
    """The row's ``NAME_TAGS`` as one list, from one parse of its ``tags_json``."""
    paths = ", ".join(_quote("$." + key) for key in NAME_TAGS)
    return f"json_extract_string(tags_json, [{paths}])"


def with_current_names_sql(source: str) -> str:
    """A query over ``source`` (results rows) with ``name`` and ``metric`` read under their current names."""
    name, metric = names_sql()
    return (f"SELECT * EXCLUDE ({_EXTRACTED}) REPLACE ({name} AS name, {metric} AS metric) "
            f"FROM (SELECT *, {name_tags_sql()} AS {_EXTRACTED} FROM {source})")

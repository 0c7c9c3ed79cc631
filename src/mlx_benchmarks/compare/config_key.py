"""What defines a result: its name and metric plus the parameters it was measured under (its configuration).

Two results are the same measurement only when their configurations are equal, so ``compare`` pairs, ``trend``
builds series, and the leaderboard and dashboard group by (name, metric, configuration). This module is the one
definition of a configuration, in Python (``result_config`` for an envelope's result, ``row_config`` for a stored
results row) and in SQL (``config_sql``) for the views, which group ten thousand runs inside DuckDB; a test holds
the two to the same text.

A configuration is a mapping of canonical keys to the string values recorded for them. A key whose value was not
recorded is absent: absent on both sides is equal, recorded on one side only is a difference (an old run without
``weights_layout`` is not silently taken for any layout).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.compare.names import with_current_names_sql

# separates key=value pairs in the canonical text; a unit separator never occurs in a tag value
PAIR_SEPARATOR = "\x1f"
NOT_RECORDED = "(not recorded)"
ALL_RECORDS = "all"  # the ``n_limit`` of a run over every record: no seeded subset


@dataclass(frozen=True)
class ConfigField:
    """One configuration key and where its value is recorded.

    ``tags``: result tags that carry it, the first recorded one wins (several tools name the same parameter:
    our ``gen_tokens_requested`` is llama-bench's ``n_gen``). ``run_field``: an envelope field instead.
    """

    key: str
    tags: tuple[str, ...] = ()
    run_field: str | None = None
    doc: str = ""


GEN_KWARGS_COLUMN = "gen_kwargs_json"  # a results row's column; an envelope has the ``gen_kwargs`` object
CONFIG_FIELDS: tuple[ConfigField, ...] = (
    # the workload
    ConfigField("prompt_tokens", ("prompt_tokens_requested", "n_prompt"), doc="prompt length asked for"),
    ConfigField("gen_tokens", ("gen_tokens_requested", "n_gen"), doc="tokens generated per request"),
    ConfigField("depth", ("depth", "n_depth"), doc="context already in the KV cache (llama-bench -d)"),
    ConfigField("concurrency", ("concurrency",), doc="requests in flight (closed loop)"),
    ConfigField("request_rate", ("request_rate",), doc="requests per second (open loop)"),
    ConfigField("arrival", ("arrival",), doc="open-loop arrival process"),
    ConfigField("burstiness", ("burstiness",), doc="gamma arrivals' shape"),
    ConfigField("max_concurrency", ("max_concurrency",), doc="cap on requests in flight (open loop)"),
    # how the model ran
    ConfigField("quantization", run_field="quantization", doc="the envelope's quantization"),
    ConfigField("weights_layout", ("weights_layout",), doc="4-bit, float32, float16, ..."),
    ConfigField("device", ("device",), doc="gpu, cpu"),
    ConfigField("compute_dtype", ("compute_dtype",), doc="dtype of the matmuls"),
    ConfigField("blas", ("blas",), doc="BLAS library on CPU"),
    ConfigField("gpu_cores", ("gpu_cores",), doc="Apple GPU core count"),
    # what a quality score was computed over, and how
    ConfigField("dataset", ("dataset",), doc="dataset name"),
    ConfigField("dataset_sha256", ("dataset_sha256",), doc="checksum of the dataset file"),
    ConfigField("subject", ("subject",), doc="MMLU subject"),
    ConfigField("limit", ("n_limit",), doc="records per task (--limit), 'all' for every record"),
    ConfigField("seed", run_field="seed", doc="the run's seed, only where --limit took a seeded subset"),
    ConfigField("subset", ("subset",), doc="how another tool's --limit chose its records (lm-eval: 'first' N)"),
    ConfigField("scoring", ("scoring",), doc="generate or loglikelihood"),
    ConfigField("num_fewshot", ("num_fewshot",), doc="few-shot examples in the prompt"),
    ConfigField("think_rule", ("think_rule",), doc="how a thinking model's answer is cut from its reply"),
    ConfigField("gen_kwargs", run_field=GEN_KWARGS_COLUMN,
                doc="the run's generation settings (max_gen_toks, temperature, ...) under a generated score"),
    ConfigField("reference", ("reference",), doc="the implementation a metric reproduces"),
    ConfigField("tool_prompt", ("tool_prompt",), doc="how tools were offered (tool-calling)"),
    ConfigField("max_steps", ("max_steps",), doc="agent step budget (framework-eval)"),
)
CONFIG_KEYS: tuple[str, ...] = tuple(f.key for f in CONFIG_FIELDS)
_LIMIT = next(f for f in CONFIG_FIELDS if f.key == "limit")
_SCORING = next(f for f in CONFIG_FIELDS if f.key == "scoring")
# A ranked-classification question set is named by task and shots (its dataset tag): the checksum of our copy
# is provenance, not configuration, so an lm-eval import of the same questions (which has no such checksum) pairs.
LOGLIK_SCORING = "loglikelihood"
# nothing is generated when choices are ranked, so the generation settings say nothing about the score either
NOT_FOR_LOGLIK = ("dataset_sha256", "gen_kwargs")
# The generation settings are configuration of a score generated over a dataset's questions; a speed result
# names its own generation length (gen_tokens), and a ranked choice generates nothing.
_DATASET = next(f for f in CONFIG_FIELDS if f.key == "dataset")
_GEN_TOKENS = next(f for f in CONFIG_FIELDS if f.key == "gen_tokens")
# keys that name the task rather than how the model ran it: a row of a models x tasks pivot is one model under
# one setup (scoring, shots, thinking rule, generation settings, limit), each column one task
TASK_KEYS = ("dataset", "dataset_sha256", "subject", "reference")


def _text(value: Any) -> str | None:
    """A recorded value as text; None and the empty string mean "not recorded"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _gen_kwargs_text(run: Mapping[str, Any]) -> str | None:
    """The generation settings as the store writes them (sorted JSON); ``{}`` is not recorded."""
    text = run.get(GEN_KWARGS_COLUMN)
    if text is None and isinstance(run.get("gen_kwargs"), Mapping):
        text = json.dumps(run["gen_kwargs"], sort_keys=True)
    return None if text in (None, "", "{}") else str(text)


def configuration(tags: Mapping[str, Any], run: Mapping[str, Any], *,
                  ignore: Iterable[str] = ()) -> dict[str, str]:
    """The configuration of one result from its tags and its run's fields, keys in ``CONFIG_FIELDS`` order."""
    skip = set(ignore)
    limit = next((t for t in (_text(tags.get(name)) for name in _LIMIT.tags) if t is not None), None)
    scoring = next((t for t in (_text(tags.get(name)) for name in _SCORING.tags) if t is not None), None)
    generated_score = (any(_text(tags.get(name)) is not None for name in _DATASET.tags)
                       and not any(_text(tags.get(name)) is not None for name in _GEN_TOKENS.tags))
    out: dict[str, str] = {}
    for spec in CONFIG_FIELDS:
        if spec.key in skip or (spec.key in NOT_FOR_LOGLIK and scoring == LOGLIK_SCORING):
            continue
        if spec.run_field == GEN_KWARGS_COLUMN:
            value = _gen_kwargs_text(run) if generated_score else None
        elif spec.run_field is not None:
            # the seed only decides which records ran when --limit took a subset of them
            if spec.key == "seed" and (limit is None or limit == ALL_RECORDS):
                continue
            value = _text(run.get(spec.run_field))
        else:
            value = next((t for t in (_text(tags.get(name)) for name in spec.tags) if t is not None), None)
        if value is not None:
            out[spec.key] = value
    return out


def result_config(result: Mapping[str, Any], envelope: Mapping[str, Any], *,
                  ignore: Iterable[str] = ()) -> dict[str, str]:
    """The configuration of an envelope's result."""
    tags = result.get("tags")
    return configuration(tags if isinstance(tags, Mapping) else {}, envelope, ignore=ignore)


def row_config(row: Mapping[str, Any]) -> dict[str, str]:
    """The configuration of a stored results row (``tags_json`` plus the run's columns)."""
    text = row.get("tags_json")
    tags = json.loads(text) if isinstance(text, str) and text else {}
    return configuration(tags if isinstance(tags, dict) else {}, row)


def config_text(config: Mapping[str, str]) -> str:
    """Canonical text of a configuration (what ``config_sql`` computes): ``key=value`` pairs in key order."""
    return PAIR_SEPARATOR.join(f"{key}={config[key]}" for key in CONFIG_KEYS if key in config)


def parse_config_text(text: str | None) -> dict[str, str]:
    """The configuration back from its canonical text."""
    out: dict[str, str] = {}
    for pair in (text or "").split(PAIR_SEPARATOR):
        key, sep, value = pair.partition("=")
        if sep:
            out[key] = value
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_TAG_PATHS: tuple[str, ...] = tuple(name for spec in CONFIG_FIELDS for name in spec.tags)
CONFIG_COLUMN = "config"
_EXTRACTED = "_config_tags"


def _config_sql_parts(tags: str, prefix: str, extracted_as: str) -> tuple[str, str]:
    """(the extraction of every configuration tag as one list, the text built from that list named ``extracted_as``)."""
    def tag_value(spec: ConfigField) -> str:
        found = [f"nullif({extracted_as}[{_TAG_PATHS.index(name) + 1}], '')" for name in spec.tags]
        return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"

    limit = tag_value(_LIMIT)
    scoring = tag_value(_SCORING)
    parts = []
    for spec in CONFIG_FIELDS:
        if spec.run_field is not None:
            value = f"nullif(CAST({prefix}{spec.run_field} AS VARCHAR), '')"
            if spec.run_field == GEN_KWARGS_COLUMN:
                value = (f"CASE WHEN {tag_value(_DATASET)} IS NOT NULL AND {tag_value(_GEN_TOKENS)} IS NULL "
                         f"THEN nullif({value}, '{{}}') END")
            if spec.key == "seed":
                value = f"CASE WHEN {limit} IS NOT NULL AND {limit} <> {_quote(ALL_RECORDS)} THEN {value} END"
        else:
            value = tag_value(spec)
        if spec.key in NOT_FOR_LOGLIK:
            value = f"CASE WHEN {scoring} IS DISTINCT FROM {_quote(LOGLIK_SCORING)} THEN {value} END"
        parts.append(f"{_quote(spec.key + '=')} || {value}")
    # one parse of the tags per row, every path at once
    extracted = f"json_extract_string({prefix}{tags}, [{', '.join(_quote('$.' + json.dumps(p)) for p in _TAG_PATHS)}])"
    return extracted, f"concat_ws({_quote(PAIR_SEPARATOR)}, {', '.join(parts)})"


def config_sql(tags_column: str = "tags_json", prefix: str = "") -> str:
    """A DuckDB expression giving ``config_text`` of a results row (columns ``tags_json``, ``quantization``,
    ``seed``); ``prefix`` qualifies the columns (``"r."``)."""
    extracted, text = _config_sql_parts(tags_column, prefix, "v")
    return f"list_transform([{extracted}], lambda v: {text})[1]"


def with_config_sql(source: str) -> str:
    """A query over ``source`` (a table, view or ``read_parquet(...)`` of results rows) with its ``config``
    column added, and every result under its current name (``compare.names``): what the views read, so a
    request never parses tags again."""
    extracted, text = _config_sql_parts("tags_json", "", _EXTRACTED)
    return with_current_names_sql(f"(SELECT * EXCLUDE ({_EXTRACTED}), {text} AS {CONFIG_COLUMN} "
                                  f"FROM (SELECT *, {extracted} AS {_EXTRACTED} FROM {source}))")


def differences(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """Each key whose value differs, as ``gen_tokens 8 vs 16`` (``(not recorded)`` for a missing one)."""
    out = []
    for key in CONFIG_KEYS:
        if a.get(key) != b.get(key):
            out.append(f"{key} {a.get(key, NOT_RECORDED)} vs {b.get(key, NOT_RECORDED)}")
    return out


def varying_keys(configs: Sequence[Mapping[str, str]]) -> list[str]:
    """The keys whose values (recorded or not) are not the same in every configuration."""
    return [key for key in CONFIG_KEYS if len({c.get(key) for c in configs}) > 1]


def config_label(config: Mapping[str, str], keys: Iterable[str] | None = None) -> str:
    """``gen_tokens=16, weights_layout=float32`` over ``keys`` (default: every recorded key)."""
    chosen = list(keys) if keys is not None else [k for k in CONFIG_KEYS if k in config]
    return ", ".join(f"{key}={config.get(key, NOT_RECORDED)}" for key in chosen)


def labelled(name: str, config: Mapping[str, str], keys: Iterable[str]) -> str:
    """``name [weights_layout=float32]``: a name told apart from its namesakes by the keys that vary."""
    label = config_label(config, keys)
    return f"{name} [{label}]" if label else name


def check_ignorable(keys: Iterable[str]) -> list[str]:
    """The keys of ``--ignore-config``, each one a configuration key; raises ValueError naming an unknown one."""
    out = []
    for key in keys:
        if key not in CONFIG_KEYS:
            raise ValueError(f"{key!r} is not a configuration key (one of: {', '.join(CONFIG_KEYS)})")
        out.append(key)
    return out

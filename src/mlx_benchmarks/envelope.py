"""The v1 result envelope: typed builders and Draft-07 validation.

``schema.json`` beside this module is a verbatim copy of the project's contract; it is never edited.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from mlx_benchmarks.errors import EnvelopeInvalid

if TYPE_CHECKING:  # jsonschema is imported when the first envelope is validated, not at start-up
    import jsonschema
    from jsonschema import Draft7Validator

Trigger = Literal["schedule", "pr", "workflow_dispatch", "local"]
JSON = dict[str, Any]
MAX_DEPTH = 64  # nesting of objects and arrays; real envelopes stay under 10
MAX_INT = 2**63 - 1  # what a Parquet int64 column holds


@cache
def schema() -> JSON:
    """The envelope v1 JSON schema shipped inside the package."""
    text = resources.files("mlx_benchmarks").joinpath("schema.json").read_text(encoding="utf-8")
    loaded: JSON = json.loads(text)
    return loaded


@cache
def suite_names() -> tuple[str, ...]:
    """Every suite name the schema allows."""
    return tuple(schema()["properties"]["suite"]["enum"])


@cache
def _validator() -> Draft7Validator:
    from jsonschema import Draft7Validator

    # FormatChecker makes "date-time" real (rfc3339-validator provides the check).
    return Draft7Validator(schema(), format_checker=Draft7Validator.FORMAT_CHECKER)


def json_path(error: jsonschema.ValidationError) -> str:
    """A JSONPath-like location such as ``$.results[0].value``."""
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _text_ok(text: str) -> bool:
    try:
        text.encode("utf-8")  # a lone surrogate ("\\ud800" in JSON) cannot be stored as text
    except UnicodeEncodeError:
        return False
    return True


def _scalar_error(value: Any) -> str | None:
    if isinstance(value, str):
        return None if value.isascii() or _text_ok(value) else "string is not valid Unicode (lone surrogate)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return "integer beyond the 64-bit range"
    return None


def value_errors(document: Any) -> list[str]:
    """``$.path: ...`` for every NaN, ±Infinity, out-of-range integer, lone surrogate or over-deep nesting.

    JSON Schema cannot say "finite", and Python's json reads ``NaN`` and ``Infinity`` happily; no stored
    number may be one. The walk is iterative, so no document can exhaust the stack.
    """
    errors: list[str] = []
    stack: list[tuple[str, int, Any]] = [("$", 0, document)]
    while stack:
        path, depth, value = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                errors.append(f"{path}: nested deeper than {MAX_DEPTH} levels")
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            if isinstance(value, dict) and not all(_text_ok(k) for k in value if not k.isascii()):
                errors.append(f"{path}: a key is not valid Unicode (lone surrogate)")
            stack.extend((f"{path}[{k}]" if isinstance(k, int) else f"{path}.{k}", depth + 1, v)
                         for k, v in reversed(list(items)))
        elif (problem := _scalar_error(value)) is not None:
            errors.append(f"{path}: {problem}")
    return errors


def validation_errors(document: Any) -> list[str]:
    """Every schema error of ``document`` in one pass, each as ``$.path: message``, then every non-finite
    number or over-deep nesting (``value_errors``)."""
    lines = value_errors(document)
    if not any("nested deeper" in line for line in lines):  # else the schema walk would recurse that deep
        errors = sorted(_validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        lines = [f"{json_path(e)}: {e.message}" for e in errors] + lines
    # a key with a lone surrogate must not make the message itself unprintable
    return [line if line.isascii() else line.encode("utf-8", "backslashreplace").decode() for line in lines]


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN and ±Infinity (ValueError) instead of reading them as floats."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


MAX_SHOWN_ERRORS = 20
MAX_ERROR_CHARS = 300


def capped_errors(errors: list[str], most: int = MAX_SHOWN_ERRORS, width: int = MAX_ERROR_CHARS) -> list[str]:
    """What a person is shown of ``errors``: the first ``most``, each cut at ``width`` characters, then
    "and N more". A schema error quotes the offending value, which can be megabytes long."""
    shown = [line if len(line) <= width else line[: width - 1] + "…" for line in errors[:most]]
    if len(errors) > most:
        shown.append(f"and {len(errors) - most} more")
    return shown


def validate(document: Any) -> None:
    """Raise EnvelopeInvalid listing every error (the message capped as ``capped_errors``), or return quietly."""
    errors = validation_errors(document)
    if errors:
        shown = "; ".join(capped_errors(errors))
        raise EnvelopeInvalid(f"envelope is invalid ({len(errors)} errors): {shown}", errors)


def utc_now_iso() -> str:
    """The current UTC time as an RFC 3339 string with a Z suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tag_value(value: object) -> str:
    """Tags are strings in the schema; render numbers and booleans plainly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


@dataclass
class GenKwargs:
    """Generation hyperparameters as passed to the inference API."""

    max_gen_toks: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None

    def to_json(self) -> JSON:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class MemorySnapshot:
    """Memory at one phase of a run."""

    phase: str
    rss_gb: float
    free_gb: float | None = None
    wired_gb: float | None = None
    swap_mb: float | None = None

    def to_json(self) -> JSON:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Result:
    """One measured number with its unit, timing fields and string tags."""

    name: str
    metric: str
    value: float
    unit: str
    duration_seconds: float | None = None
    prompt_tokens_per_second: float | None = None
    decode_tokens_per_second: float | None = None
    total_tokens_per_second: float | None = None
    first_token_latency_ms: float | None = None
    peak_rss_mb: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    raw: Any = None

    def tag(self, **tags: object) -> Result:
        """Add tags (values rendered as strings); returns self for chaining."""
        self.tags.update({k: tag_value(v) for k, v in tags.items()})
        return self

    def to_json(self) -> JSON:
        out: JSON = {"name": self.name, "metric": self.metric, "value": float(self.value), "unit": self.unit}
        for key in (
            "duration_seconds",
            "prompt_tokens_per_second",
            "decode_tokens_per_second",
            "total_tokens_per_second",
            "first_token_latency_ms",
            "peak_rss_mb",
        ):
            value = getattr(self, key)
            if value is not None and math.isfinite(value):  # no figure rather than NaN, or NaN turned into 0
                out[key] = max(0.0, float(value)) if key != "duration_seconds" else float(value)
        if self.tags:
            out["tags"] = {k: tag_value(v) for k, v in self.tags.items()}
        if self.raw is not None:
            out["raw"] = self.raw
        return out


@dataclass
class Envelope:
    """A whole run: what ran, where, and every result."""

    suite: str
    model: str
    system: JSON
    git_sha: str
    timestamp: str = field(default_factory=utc_now_iso)
    trigger: Trigger = "local"
    pr_number: int | None = None
    model_revision: str | None = None
    quantization: str | None = None
    skipped: bool | None = None
    seed: int | None = None
    gen_kwargs: GenKwargs | None = None
    results: list[Result] = field(default_factory=list)
    memory_snapshots: list[MemorySnapshot] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> JSON:
        out: JSON = {
            "schema_version": "1",
            "timestamp": self.timestamp,
            "git_sha": self.git_sha,
            "trigger": self.trigger,
            "pr_number": self.pr_number,
            "suite": self.suite,
            "model": self.model,
        }
        for key in ("model_revision", "quantization", "skipped", "seed"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.gen_kwargs is not None:
            out["gen_kwargs"] = self.gen_kwargs.to_json()
        out["system"] = dict(self.system)
        out["results"] = [r.to_json() for r in self.results]
        if self.memory_snapshots:
            out["memory_snapshots"] = [m.to_json() for m in self.memory_snapshots]
        out["errors"] = list(self.errors)
        return out

    def validated(self) -> JSON:
        """The JSON document, validated; raises EnvelopeInvalid."""
        document = self.to_json()
        validate(document)
        return document

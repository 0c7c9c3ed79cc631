"""The v1 result envelope: typed builders and Draft-07 validation.

``schema.json`` beside this module is a verbatim copy of the project's contract; it is never edited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema
from jsonschema import Draft7Validator

from mlx_benchmarks.errors import EnvelopeInvalid

Trigger = Literal["schedule", "pr", "workflow_dispatch", "local"]
JSON = dict[str, Any]


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
    # FormatChecker makes "date-time" real (rfc3339-validator provides the check).
    return Draft7Validator(schema(), format_checker=Draft7Validator.FORMAT_CHECKER)


def json_path(error: jsonschema.ValidationError) -> str:
    """A JSONPath-like location such as ``$.results[0].value``."""
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validation_errors(document: Any) -> list[str]:
    """Every schema error of ``document`` in one pass, each as ``$.path: message``."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{json_path(e)}: {e.message}" for e in errors]


def validate(document: Any) -> None:
    """Raise EnvelopeInvalid listing every error, or return quietly."""
    errors = validation_errors(document)
    if errors:
        raise EnvelopeInvalid(f"envelope is invalid ({len(errors)} errors): " + "; ".join(errors), errors)


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
            if value is not None:
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

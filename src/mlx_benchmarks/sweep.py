"""Sweep files: targets × suites × parameters in TOML, validated in full before any work starts.

```toml
[sweep]
seed = 1234

[[targets]]
label = "laptop"          # optional column name in the comparison table
target = "embedded"       # "embedded", http(s)://HOST/v1, mlx:PATH or py:MODULE:FACTORY
model = "..."             # optional
serve = "mlx"             # optional: start this server for the model
timeout_s = 600           # optional, per request
api_key_env = "MY_KEY"    # optional, http(s) targets: the variable holding this target's key (default
                          # MLX_BENCH_API_KEY, else OPENAI_API_KEY); the key itself never goes in the file
where = { chip = "Apple M4 Max", memory_gb = ">=64" }  # optional, --ray only: the machines that may run it

[[suites]]
name = "tool-calling"
options = { tasks = "simple,parallel", limit = 20 }   # the suite's own flags, as on the command line
matrix = { max_tokens = [128, 256] }                    # one comparison per combination
where = { os = "macOS" }                                # optional, --ray only; ANDed with the target's
```

Every error names its key path (``suites[0].options.limit: ...``) and is raised as one UsageError.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlx_benchmarks.errors import UsageError

SWEEP_KEYS = {"name": str, "seed": int, "skip_unavailable": bool}
TARGET_KEYS = {"label": str, "target": str, "model": str, "serve": str, "timeout_s": (int, float), "api_key_env": str,
               "where": dict}
SUITE_KEYS = {"name": str, "options": dict, "matrix": dict, "where": dict}
SERVE_CHOICES = ("mlx", "llamacpp")
# `where` values: "Apple M4 Max" (equal), 64 (equal), ">=64" (numeric comparison)
COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")
# (suite name, raw options, key path) -> validated options; supplied by the CLI, which owns the flag parsers
OptionValidator = Callable[[str, Mapping[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class Condition:
    """One ``where`` entry: a node label compared with a value (``op`` "=" compares text, the rest numbers)."""

    key: str
    op: str
    value: str | float

    def __str__(self) -> str:
        return f"{self.key}={self.value}" if self.op == "=" else f"{self.key}{self.op}{self.value:g}"


@dataclass(frozen=True)
class SweepTarget:
    """One ``[[targets]]`` entry."""

    label: str
    target: str | None
    model: str | None = None
    serve: str | None = None
    timeout_s: float = 600.0
    api_key_env: str | None = None
    where: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class SweepRun:
    """One suite with one combination of parameters, to be compared across every target."""

    suite: str
    options: dict[str, Any]
    where: str  # key path, for messages
    placement: tuple[Condition, ...] = ()  # the suite's own ``where``


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    name: str
    seed: int
    skip_unavailable: bool
    targets: list[SweepTarget]
    runs: list[SweepRun] = field(default_factory=list)

    @property
    def placed(self) -> bool:
        """Whether any target or suite says where it must run (``where``: used by ``--ray``)."""
        return any(t.where for t in self.targets) or any(r.placement for r in self.runs)


def _check_keys(table: Mapping[str, Any], allowed: Mapping[str, Any], where: str) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise UsageError(f"{where}.{key}: unknown key; allowed: {', '.join(allowed)}")
        expected = allowed[key]
        if isinstance(value, bool) and expected is not bool:  # bool is an int in Python, not in a sweep file
            raise UsageError(f"{where}.{key}: expected {_type_name(expected)}, got a boolean")
        if not isinstance(value, expected):
            raise UsageError(f"{where}.{key}: expected {_type_name(expected)}, got {type(value).__name__}")


def _type_name(expected: Any) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", dict: "a table", float: "a number"}
    if isinstance(expected, tuple):
        return " or ".join(names.get(e, e.__name__) for e in expected)
    return names.get(expected, str(expected.__name__))


def _check_key_env(name: str, target: str | None, where: str, environ: Mapping[str, str]) -> None:
    if not target or not target.startswith(("http://", "https://")):
        raise UsageError(f"{where}.api_key_env: only an http(s) target takes an API key")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"{where}.api_key_env: {name!r} is not an environment variable name (give its name, "
                         "not the key)")
    if not environ.get(name):
        raise UsageError(f"{where}.api_key_env: the environment variable {name} is not set")


def parse_where(raw: Mapping[str, Any], where: str) -> tuple[Condition, ...]:
    """``{chip = "Apple M4 Max", memory_gb = ">=64"}`` as conditions; UsageError naming the key otherwise."""
    out = []
    for key, value in raw.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,62}", key):
            raise UsageError(f"{where}.where.{key}: not a node label name (letters, digits, _ . -)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(f"{where}.where.{key}: expected a string or a number, got {type(value).__name__}")
        if isinstance(value, (int, float)):
            out.append(Condition(key, "==", float(value)))
            continue
        match = COMPARISON.match(value)
        if match:
            out.append(Condition(key, match.group(1), float(match.group(2))))
        elif value.strip() and not value.lstrip().startswith(("<", ">", "=", "!")):
            out.append(Condition(key, "=", value.strip()))
        else:
            raise UsageError(f"{where}.where.{key}: {value!r} is neither a value nor a comparison such as \">=64\"")
    return tuple(out)


def _targets(raw: Any, environ: Mapping[str, str]) -> list[SweepTarget]:
    if not isinstance(raw, list) or not raw:
        raise UsageError("targets: give at least one [[targets]] table")
    out = []
    for index, entry in enumerate(raw):
        where = f"targets[{index}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected a table")
        _check_keys(entry, TARGET_KEYS, where)
        if "target" not in entry and "serve" not in entry:
            raise UsageError(f"{where}.target: missing (use \"embedded\" for the built-in model)")
        if entry.get("serve") is not None and entry["serve"] not in SERVE_CHOICES:
            raise UsageError(f"{where}.serve: {entry['serve']!r} is not one of {', '.join(SERVE_CHOICES)}")
        target = entry.get("target")
        if target is not None and target != "embedded" and not target.startswith(("http://", "https://", "mlx:", "py:")):
            raise UsageError(f"{where}.target: {target!r} is not embedded, http(s)://..., mlx:PATH or py:MOD:FACTORY")
        if float(entry.get("timeout_s", 600.0)) <= 0:
            raise UsageError(f"{where}.timeout_s: must be positive")
        key_env = entry.get("api_key_env")
        if key_env is not None:
            _check_key_env(key_env, target, where, environ)
        out.append(SweepTarget(label=entry.get("label") or target or f"serve:{entry['serve']}",
                               target=None if target == "embedded" else target, model=entry.get("model"),
                               serve=entry.get("serve"), timeout_s=float(entry.get("timeout_s", 600.0)),
                               api_key_env=key_env, where=parse_where(entry.get("where", {}), where)))
    labels = [t.label for t in out]
    duplicate = next((label for label in labels if labels.count(label) > 1), None)
    if duplicate:
        raise UsageError(f"targets: label {duplicate!r} is used twice; give each target its own label")
    return out


def _runs(raw: Any, validate_options: OptionValidator) -> list[SweepRun]:
    if not isinstance(raw, list) or not raw:
        raise UsageError("suites: give at least one [[suites]] table")
    out = []
    for index, entry in enumerate(raw):
        where = f"suites[{index}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected a table")
        _check_keys(entry, SUITE_KEYS, where)
        if "name" not in entry:
            raise UsageError(f"{where}.name: missing")
        matrix = entry.get("matrix", {})
        for key, values in matrix.items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{where}.matrix.{key}: expected a non-empty list of values")
            if key in entry.get("options", {}):
                raise UsageError(f"{where}.matrix.{key}: also set in {where}.options; set it in one place")
        keys = list(matrix)
        for combo in itertools.product(*(matrix[k] for k in keys)) if keys else [()]:
            raw_options = {**entry.get("options", {}), **dict(zip(keys, combo, strict=True))}
            options = validate_options(entry["name"], raw_options, where)
            out.append(SweepRun(suite=entry["name"], options=options, where=where,
                                placement=parse_where(entry.get("where", {}), where)))
    return out


def parse_sweep(text: str, validate_options: OptionValidator, source: str = "sweep file",
                environ: Mapping[str, str] | None = None) -> Sweep:
    """A validated Sweep from TOML text; UsageError with the key path on the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None
    _check_keys(data, {"sweep": dict, "targets": list, "suites": list}, "$")
    header = data.get("sweep", {})
    _check_keys(header, SWEEP_KEYS, "sweep")
    targets = _targets(data.get("targets"), os.environ if environ is None else environ)
    runs = _runs(data.get("suites"), validate_options)
    return Sweep(name=header.get("name", Path(source).stem), seed=int(header.get("seed", 1234)),
                 skip_unavailable=bool(header.get("skip_unavailable", False)), targets=targets, runs=runs)


def load_sweep(path: str | Path, validate_options: OptionValidator) -> Sweep:
    """Read and validate a sweep file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    return parse_sweep(text, validate_options, str(path))

"""Test double: gold tool calls built from BFCL's possible answers (the first allowed value of each)."""

from __future__ import annotations

import json
from typing import Any

from mlx_benchmarks.scoring.tool_parsers import ParsedCall
from mlx_benchmarks.scoring.tool_schema import tool_name


def _first(allowed: list[Any]) -> Any:
    value = next(v for v in allowed if v != "")
    return _concrete(value)


def _concrete(value: Any) -> Any:
    # dict answers are themselves {key: [allowed]}: pick one value per key, leave out optional keys
    if isinstance(value, dict):
        return {k: _first(v) if isinstance(v, list) else v for k, v in value.items()
                if not isinstance(v, list) or any(x != "" for x in v)}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_concrete(v) for v in value]
    return value


def gold_calls(functions: list[dict[str, Any]], ground_truth: list[dict[str, Any]]) -> list[ParsedCall]:
    """One call per expected call, with declared parameters only."""
    declared = {f["name"]: set((f.get("parameters") or {}).get("properties") or {}) for f in functions}
    calls = []
    for answer in ground_truth:
        ((name, params),) = answer.items()
        args = {k: _first(v) for k, v in params.items() if k in declared.get(name, set()) and any(x != "" for x in v)}
        calls.append(ParsedCall(tool_name(name), args, json.dumps(args), "native"))
    return calls

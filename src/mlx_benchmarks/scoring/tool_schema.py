"""BFCL function documents as OpenAI ``tools`` (JSON Schema), and argument validation against them.

BFCL writes Python-flavoured types ("dict", "float", "tuple", "any"); OpenAI-compatible servers expect JSON
Schema ("object", "number", "array", no type). Function names may hold dots, which the OpenAI API refuses
(``^[a-zA-Z0-9_-]{1,64}$``), so they are rewritten and the mapping kept for scoring.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError, UnknownType

TYPE_MAP = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "integer": "integer",
    "string": "string",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
    "number": "number",
    "null": "null",
}
# schema keywords carried over; BFCL's own extras ("optional", "format" prose ...) are dropped
KEPT_KEYS = ("description", "enum", "default", "required", "minimum", "maximum", "minItems", "maxItems")
NAME_RE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(name: str) -> str:
    """An OpenAI-legal function name: dots and other characters become underscores, 64 at most."""
    return NAME_RE.sub("_", name)[:64] or "function"


def to_json_schema(node: Any) -> dict[str, Any]:
    """One BFCL parameter schema as JSON Schema (recursively through properties and items)."""
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    bfcl_type = node.get("type")
    if isinstance(bfcl_type, str) and bfcl_type.lower() in TYPE_MAP:
        out["type"] = TYPE_MAP[bfcl_type.lower()]  # "any" and unknown types: no type constraint
    for key in KEPT_KEYS:
        if key in node:
            out[key] = node[key]
    if isinstance(node.get("properties"), dict):
        # the keys of "properties" are parameter names ("type" is a real parameter name in BFCL)
        out["properties"] = {name: to_json_schema(sub) for name, sub in node["properties"].items()}
    if "items" in node:
        out["items"] = to_json_schema(node["items"])
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["properties"] = {}
    if isinstance(out.get("required"), list) and "properties" in out:
        # a required name that is not a property makes some servers reject the whole tool
        out["required"] = [r for r in out["required"] if r in out["properties"]]
    return out


def to_openai_tools(functions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(OpenAI ``tools`` list, map from the sent name back to BFCL's name)."""
    tools = []
    names: dict[str, str] = {}
    for function in functions:
        sent = tool_name(str(function["name"]))
        names[sent] = str(function["name"])
        parameters = to_json_schema(function.get("parameters") or {"type": "dict", "properties": {}})
        parameters.setdefault("type", "object")
        tools.append({"type": "function", "function": {
            "name": sent, "description": str(function.get("description", "")), "parameters": parameters,
        }})
    return tools, names


def schema_errors(arguments: Any, parameters: dict[str, Any]) -> list[str]:
    """Every way ``arguments`` breaks the declared JSON Schema, each as ``path: message``; [] when valid."""
    try:
        Draft7Validator.check_schema(parameters)
        validator = Draft7Validator(parameters)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))
    except SchemaError as exc:
        return [f"schema itself is invalid: {exc.message}"[:300]]
    except UnknownType as exc:
        return [f"schema itself is invalid: unknown type {exc.type!r}"]
    out = []
    for error in errors:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        out.append(f"${path}: {error.message}"[:300])
    return out


PROBE_TOOL = {"type": "function", "function": {"name": "probe_tool_rendering", "description": "probe",
                                               "parameters": {"type": "object", "properties": {}}}}


def renders_tools(target: Any) -> bool:
    """Whether the target shows ``tools`` to the model: False when it says it cannot, or when its chat
    template (checked through ``prompt_ids`` where the target has one) drops them silently."""
    if not getattr(getattr(target, "info", None), "supports_tools", True):
        return False
    prompt_ids = getattr(target, "prompt_ids", None)
    if not callable(prompt_ids):
        return True  # an HTTP server renders tools itself; trust it
    from mlx_benchmarks.targets.base import ChatRequest

    messages = [{"role": "user", "content": "hi"}]
    try:
        plain = prompt_ids(ChatRequest(messages=messages))
        with_tools = prompt_ids(ChatRequest(messages=messages, tools=[PROBE_TOOL]))
    except Exception:  # a template that raises on tools cannot render them either
        return False
    return len(with_tools) > len(plain)

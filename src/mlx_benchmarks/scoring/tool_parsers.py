"""Tool calls from a completion: the native ``tool_calls`` field, or calls a model wrote into its text.

Text formats, tried in this order (the first that yields calls wins, and names the call's ``path``):

- ``hermes``: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Hermes, Qwen 2.5/3, SmolLM)
- ``llama3-python-tag``: ``<|python_tag|>{"name": ..., "parameters": {...}}``, several joined by ``;``
- ``json-fenced``: a fenced ````json`` block holding one call object or a list of them (Qwen's other habit)
- ``llama3-json``: the whole answer is one call object ``{"name": ..., "parameters"|"arguments": ...}`` or a list
- ``python``: the whole answer is ``[f(a=1), g(b="x")]`` (BFCL's prompt-mode style), read with ``ast``

A call whose arguments are not a JSON object is kept (``arguments is None``) so the scorer can count it as
"invalid JSON" rather than "no call".
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

NATIVE = "native"
HERMES_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
PYTHON_TAG = "<|python_tag|>"
FENCE_RE = re.compile(r"```(?:json|tool_call|tool)?\s*\n?(.*?)```", re.DOTALL)
NAME_RE = re.compile(r'"name"\s*:\s*"([^"]+)"')


@dataclass(frozen=True)
class ParsedCall:
    """One tool call as the scorer sees it."""

    name: str
    arguments: dict[str, Any] | None  # None when the arguments are not a JSON object
    raw_arguments: str
    path: str  # "native", "hermes", "llama3-json", ...

    @property
    def json_valid(self) -> bool:
        return self.arguments is not None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments if self.json_valid else self.raw_arguments,
                "json_valid": self.json_valid, "path": self.path}


def parse_arguments(raw: Any) -> dict[str, Any] | None:
    """A JSON object from a string (or an already-decoded dict); None when it is anything else."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        return None
    if not raw.strip():
        return {}  # several servers send "" for a call without arguments
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def from_native(calls: list[dict[str, Any]]) -> list[ParsedCall]:
    """Calls merged from streamed ``tool_call`` deltas (``{"id", "name", "arguments"}``)."""
    out = []
    for call in calls:
        raw = call.get("arguments", "")
        out.append(ParsedCall(name=str(call.get("name") or ""), arguments=parse_arguments(raw),
                              raw_arguments=raw if isinstance(raw, str) else json.dumps(raw), path=NATIVE))
    return out


def _call_from_object(obj: Any, path: str) -> ParsedCall | None:
    """A call from a decoded ``{"name", "arguments"|"parameters"}`` object, or None if it is not one."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    if "arguments" in obj:
        raw = obj["arguments"]
    elif "parameters" in obj:
        raw = obj["parameters"]
    else:
        return None
    return ParsedCall(name=obj["name"], arguments=parse_arguments(raw),
                      raw_arguments=raw if isinstance(raw, str) else json.dumps(raw), path=path)


def _calls_from_json_text(text: str, path: str, *, salvage: bool) -> list[ParsedCall]:
    """Calls from a JSON call object or list; with ``salvage``, a broken object still yields a named call."""
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        match = NAME_RE.search(text) if salvage else None
        return [ParsedCall(name=match.group(1), arguments=None, raw_arguments=text, path=path)] if match else []
    items = value if isinstance(value, list) else [value]
    calls = [_call_from_object(item, path) for item in items]
    return [c for c in calls if c is not None] if all(c is not None for c in calls) else []


def _hermes(text: str) -> list[ParsedCall]:
    calls: list[ParsedCall] = []
    for body in HERMES_RE.findall(text):
        calls.extend(_calls_from_json_text(body, "hermes", salvage=True))
    return calls


def _python_tag(text: str) -> list[ParsedCall]:
    if PYTHON_TAG not in text:
        return []
    body = text.split(PYTHON_TAG, 1)[1].replace("<|eom_id|>", "").replace("<|eot_id|>", "")
    calls: list[ParsedCall] = []
    for part in body.split(";"):
        if part.strip():
            calls.extend(_calls_from_json_text(part, "llama3-python-tag", salvage=True))
    return calls


def _fenced(text: str) -> list[ParsedCall]:
    calls: list[ParsedCall] = []
    for body in FENCE_RE.findall(text):
        calls.extend(_calls_from_json_text(body, "json-fenced", salvage=False))
    return calls


def _literal(node: ast.expr) -> Any:
    return ast.literal_eval(node)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _python_calls(text: str) -> list[ParsedCall]:
    text = text.strip()
    if not (text.startswith("[") and text.endswith(")]")):
        return []
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return []
    if not isinstance(tree.body, ast.List):
        return []
    calls = []
    for element in tree.body.elts:
        name = _dotted(element.func) if isinstance(element, ast.Call) else None
        if not isinstance(element, ast.Call) or name is None or element.args:
            return []
        try:
            arguments = {kw.arg: _literal(kw.value) for kw in element.keywords if kw.arg}
        except (ValueError, SyntaxError, TypeError):
            arguments = None
        calls.append(ParsedCall(name=name, arguments=arguments, raw_arguments=ast.unparse(element), path="python"))
    return calls


def from_text(text: str) -> list[ParsedCall]:
    """Calls written into the answer text, by the first format that finds any."""
    for parser in (_hermes, _python_tag, _fenced):
        calls = parser(text)
        if calls:
            return calls
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        calls = _calls_from_json_text(stripped, "llama3-json", salvage=False)
        if calls:
            return calls
    return _python_calls(stripped)


def extract_calls(text: str, native: list[dict[str, Any]], *, parse_text: bool = True) -> list[ParsedCall]:
    """Native calls when the target sent any, else calls parsed from the text (unless turned off)."""
    if native:
        return from_native(native)
    return from_text(text) if parse_text else []


def path_counts(calls: list[ParsedCall]) -> dict[str, int]:
    """How many calls came through each path."""
    return dict(Counter(call.path for call in calls))

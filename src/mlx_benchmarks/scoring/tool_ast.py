"""Structural scoring of tool calls, following the rules of BFCL's AST checker (our own implementation).

A call is right when its function name matches, every required parameter is present, no parameter is
unexpected, each value is among the allowed ones, and every parameter that the possible answer lists without
``""`` (BFCL's mark for "may be omitted") is given. Values: strings compare case-insensitively with spaces and
``,./-_*^`` removed; an int is accepted where a float is declared; lists compare element-wise (strings
normalised); dicts key by key; lists of dicts dict by dict. Parallel categories match calls to answers in any
order (a one-to-one assignment). Irrelevance asks for no call; relevance for at least one well-formed call.

Every failed sample gets one category of the taxonomy in ``FAILURES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.scoring.tool_parsers import ParsedCall
from mlx_benchmarks.scoring.tool_schema import tool_name

FAILURES = {
    "no_call": "no tool call where one was due",
    "wrong_function": "called a function other than the expected one",
    "wrong_arguments": "a value that is not allowed, of the wrong type, or an unexpected parameter",
    "missing_arguments": "a required (or not-optional) parameter is missing",
    "invalid_json": "the arguments are not a JSON object",
    "extra_calls": "more calls than were due",
    "too_few_calls": "fewer calls than were due (parallel)",
    "unexpected_call": "a tool call where none was due (irrelevance)",
    "rejected": "the target refused the request (e.g. HTTP 400 for the tool schema)",
    "truncated": "the stream ended before the answer finished",
    "target_error": "the request failed in another way",
}
# BFCL's Python types for the declared parameter types; "any" is not type-checked
PY_TYPES: dict[str, type] = {"string": str, "integer": int, "float": float, "number": float, "boolean": bool,
                             "array": list, "tuple": list, "dict": dict, "object": dict}
STRIP_RE = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Check:
    """The verdict on one sample: valid, else a taxonomy category and a short reason."""

    valid: bool
    failure: str | None = None
    reason: str = ""


OK = Check(True)


def fail(failure: str, reason: str) -> Check:
    return Check(False, failure, reason[:300])


def norm_str(value: str) -> str:
    """BFCL's string normalisation: no spaces or ``,./-_*^``, lower case, single quotes as double."""
    return STRIP_RE.sub("", value).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return norm_str(value) if isinstance(value, str) else value


def _same_type(value: Any, expected: type) -> bool:
    # type() rather than isinstance(): True must not pass for an integer, as in BFCL
    return type(value) is expected


def _dict_ok(value: dict[str, Any], allowed: list[Any]) -> bool:
    for option in allowed:
        if option == "" or not isinstance(option, dict):
            continue
        extra = [k for k in value if k not in option]
        wrong = [k for k, v in value.items() if k in option and _norm(v) not in [_norm(o) for o in option[k]]]
        missing = [k for k, v in option.items() if k not in value and "" not in v]
        if not (extra or wrong or missing):
            return True
    return False


def _list_of_dicts_ok(value: list[Any], allowed: list[Any]) -> bool:
    for option in allowed:
        if isinstance(option, list) and len(option) == len(value) and all(
            isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option, strict=True)
        ):
            return True
    return False


def _list_ok(value: list[Any], allowed: list[Any]) -> bool:
    normalised = [_norm(v) for v in value]
    return any(isinstance(o, list) and [_norm(x) for x in o] == normalised for o in allowed)


def _answer_type(allowed: list[Any]) -> type | None:
    for option in allowed:
        if option != "":
            return type(option)
    return None


def _items_ok(value: list[Any], item_type: type | None) -> bool:
    if item_type is None:
        return True
    return all(_same_type(float(v) if item_type is float and type(v) is int else v, item_type) for v in value)


def check_value(param: str, value: Any, spec: dict[str, Any], allowed: list[Any]) -> Check:
    """One parameter value against its declared type and the allowed values."""
    declared = str(spec.get("type", "any"))
    expected = PY_TYPES.get(declared)
    if expected is float and type(value) is int:
        value = float(value)
    answer_type = _answer_type(allowed)
    # BFCL writes a variable name as a string answer where the type is not string: accept that type too
    is_variable = answer_type is not None and expected is not None and answer_type is not expected
    variable_ok = is_variable and answer_type is not None and _same_type(value, answer_type)
    if expected is not None and not _same_type(value, expected) and not variable_ok:
        return fail("wrong_arguments", f"{param}: expected {declared}, got {type(value).__name__}")
    if expected is list and not is_variable:
        raw_items = spec.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        item_type = PY_TYPES.get(str(items.get("type", "any")))
        if not _items_ok(value, item_type):
            return fail("wrong_arguments", f"{param}: list items are not all {items.get('type')}")
        ok_fn: Callable[[Any, list[Any]], bool] = _list_of_dicts_ok if item_type is dict else _list_ok
        ok = ok_fn(value, allowed)
    elif expected is dict and not is_variable:
        ok = _dict_ok(value, allowed)
    elif isinstance(value, str):
        ok = norm_str(value) in [norm_str(o) for o in allowed if isinstance(o, str)]
    else:
        ok = value in allowed
    return OK if ok else fail("wrong_arguments", f"{param}: {value!r} is not among {allowed!r}"[:300])


def check_call(function: dict[str, Any], call: ParsedCall, expected_name: str, answer: dict[str, list[Any]],
               names: dict[str, str]) -> Check:
    """One call against one possible answer ``{param: [allowed values]}`` for ``expected_name``."""
    if call.arguments is None:
        return fail("invalid_json", f"arguments of {call.name!r} are not a JSON object: {call.raw_arguments[:120]!r}")
    if names.get(call.name, call.name) != expected_name and call.name != tool_name(expected_name):
        return fail("wrong_function", f"called {call.name!r}, expected {expected_name!r}")
    parameters = function.get("parameters") or {}
    properties: dict[str, Any] = parameters.get("properties") or {}
    for param in parameters.get("required") or []:
        if param not in call.arguments:
            return fail("missing_arguments", f"required parameter {param!r} is missing")
    for param, value in call.arguments.items():
        if param not in properties or param not in answer:
            return fail("wrong_arguments", f"unexpected parameter {param!r}")
        verdict = check_value(param, value, properties[param], answer[param])
        if not verdict.valid:
            return verdict
    for param, allowed in answer.items():
        if param not in call.arguments and "" not in allowed:
            return fail("missing_arguments", f"parameter {param!r} is not optional but was not given")
    return OK


def _function(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next((f for f in functions if f.get("name") == name), {"name": name, "parameters": {}})


def _assign(calls: list[ParsedCall], answers: list[dict[str, Any]], functions: list[dict[str, Any]],
            names: dict[str, str]) -> Check:
    """Order-free matching: find a one-to-one assignment of calls to answers, else the most telling failure."""
    verdicts = [[check_call(_function(functions, next(iter(a))), c, next(iter(a)), next(iter(a.values())), names)
                 for c in calls] for a in answers]

    def solve(i: int, used: frozenset[int]) -> bool:
        if i == len(answers):
            return True
        return any(verdicts[i][j].valid and solve(i + 1, used | {j}) for j in range(len(calls)) if j not in used)

    if solve(0, frozenset()):
        return OK
    for row in verdicts:  # the first answer no call satisfies; prefer a failure past the name check
        if not any(v.valid for v in row):
            named = [v for v in row if v.failure != "wrong_function"]
            return (named or row)[0]
    return fail("wrong_arguments", "no one-to-one match between calls and expected calls")


def check_sample(kind: str, functions: list[dict[str, Any]], calls: list[ParsedCall], ground_truth: Any,
                 names: dict[str, str]) -> Check:
    """The verdict on one BFCL item of ``kind`` (simple, multiple, parallel, irrelevance, relevance)."""
    if kind == "irrelevance":
        valid_calls = [c for c in calls if c.json_valid]
        return fail("unexpected_call", f"called {valid_calls[0].name!r}") if valid_calls else OK
    if kind == "relevance":
        if not calls:
            return fail("no_call", "no tool call")
        return OK if any(c.json_valid for c in calls) else fail("invalid_json", "no call has JSON arguments")
    answers: list[dict[str, Any]] = list(ground_truth or [])
    if not calls:
        return fail("no_call", "no tool call")
    broken = [c for c in calls if not c.json_valid]
    if broken:
        return fail("invalid_json", f"arguments of {broken[0].name!r} are not a JSON object")
    if len(calls) > len(answers):
        return fail("extra_calls", f"{len(calls)} calls, {len(answers)} due")
    if len(calls) < len(answers):
        return fail("too_few_calls", f"{len(calls)} calls, {len(answers)} due")
    return _assign(calls, answers, functions, names)

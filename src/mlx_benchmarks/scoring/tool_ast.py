"""Structural scoring of tool calls: BFCL's AST checker (``bfcl_eval`` 2026.3.23, Python), rule for rule.

The rules are those of ``bfcl_eval.eval_checker.ast_eval.ast_checker`` for ``Language.PYTHON``, including its
quirks, so ``accuracy`` here equals BFCL's verdict on the same calls (``tests/scoring/test_reference_bfcl.py``
checks it against the installed checker):

- the function name must be the name the model was sent: BFCL's name for a model with ``underscore_to_dot``
  (dots become ``_``); the dotted original is not accepted;
- declared types are BFCL's Python types (``any`` is a string); an int passes for a ``float`` parameter but
  not inside a ``float`` array unless the possible answer holds ints there; array items are checked against
  the possible answers' item types, the declared item type or, where an answer is ``""``, not at all;
- a value of the possible answer's type where another type is declared is a "variable" and is compared
  as is (no string normalisation); strings compare with spaces and ``,./-_*^`` removed, case-insensitively;
- simple: exactly one call, checked against the first function offered; multiple: the first call against
  the one answer; parallel: each possible answer in order takes the first still unmatched call that
  satisfies it (greedy, as BFCL, not an assignment).

Irrelevance asks for no call, relevance for one, as BFCL's decoder reads an output: there is a call when
there is at least one and every one has a JSON object for arguments (one that has not makes the whole output
undecodable, so BFCL sees no call at all). ``strict=True`` is our stricter reading, reported as
``accuracy_strict``: on irrelevance any tool call, even a broken one, is wrong; elsewhere it is ``accuracy``.
Python-literal tuples (the ``python`` text path) become lists where a ``tuple`` is declared, as in BFCL.
Every failed sample gets one category of the taxonomy in ``FAILURES``.
"""

from __future__ import annotations

import re
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
# BFCL's PYTHON_TYPE_MAPPING; a type it lacks is not type-checked (BFCL itself would raise KeyError)
PY_TYPES: dict[str, type] = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list,
                             "tuple": list, "dict": dict, "any": str}
NESTED_TYPES = ("array", "tuple")
STRIP_RE = re.compile(r"[ ,./\-_*^]")
REFERENCE = "bfcl-eval 2026.3.23 ast_checker (Python)"


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
    """BFCL's ``standardize_string``: no spaces or ``,./-_*^``, lower case, single quotes as double."""
    return STRIP_RE.sub("", value).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return norm_str(value) if type(value) is str else value


def _answer_type(allowed: list[Any]) -> type | None:
    return next((type(option) for option in allowed if option != ""), None)


def _type_check(value: Any, allowed: list[Any], expected: type | None, nested: type | None) -> tuple[bool, bool]:
    """BFCL's ``type_checker``: (valid, is_variable). Nested checking is one level deep, as in BFCL."""
    answer_type = _answer_type(allowed)
    is_variable = answer_type is not None and answer_type is not expected
    if expected is None or type(value) is expected:
        if nested is None:
            return True, is_variable
        for option in allowed:  # every item must fit one possible answer; a non-list answer ("") fits all
            if type(option) is not list or all(_type_check(item, option, nested, None)[0] for item in value):
                return True, is_variable
        return False, False  # BFCL reports the nested failure even when the value could be a variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, False


def _dict_ok(value: dict[str, Any], allowed: list[Any]) -> bool:
    """BFCL's ``dict_checker``: some possible dict has every key given, every value allowed, none missing."""
    for option in allowed:
        if option == "":
            continue
        if any(k not in option or _norm(v) not in [_norm(o) for o in option[k]] for k, v in value.items()):
            continue
        if any(k not in value and "" not in v for k, v in option.items()):
            continue
        return True
    return False


def _list_of_dicts_ok(value: list[Any], allowed: list[Any]) -> bool:
    """BFCL's ``list_dict_checker``: dict by dict, in order, against one possible list."""
    return any(isinstance(option, (list, str)) and len(value) == len(option)
               and all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option, strict=False))
               for option in allowed)


def _list_ok(value: list[Any], allowed: list[Any]) -> bool:
    """BFCL's ``list_checker``: element-wise, strings normalised (a non-list answer such as "" never equals)."""
    normalised = [_norm(v) for v in value]
    return any(isinstance(option, (list, str)) and [_norm(x) for x in option] == normalised for option in allowed)


def check_value(param: str, value: Any, spec: dict[str, Any], allowed: list[Any]) -> Check:
    """One parameter value against its declared type and the allowed values (BFCL's per-parameter loop)."""
    declared = str(spec.get("type", "any"))
    expected = PY_TYPES.get(declared)
    nested: type | None = None
    if declared in NESTED_TYPES:
        items = spec.get("items")
        nested = PY_TYPES.get(str(items.get("type"))) if isinstance(items, dict) else None
    if declared == "tuple" and type(value) is tuple:
        value = list(value)  # BFCL: a JSON round trip turns the answer's tuples into lists, so the value too
    if declared == "float" and type(value) is int:
        value = float(value)  # Python's own int -> float promotion, which BFCL allows
    valid, is_variable = _type_check(value, allowed, expected, nested)
    if not valid:
        return fail("wrong_arguments", f"{param}: expected {declared}, got {type(value).__name__}")
    if not is_variable and expected is dict:
        ok = isinstance(value, dict) and _dict_ok(value, allowed)
    elif not is_variable and expected is list and nested is dict:
        ok = isinstance(value, list) and _list_of_dicts_ok(value, allowed)
    elif not is_variable and expected is str:
        ok = isinstance(value, str) and norm_str(value) in [norm_str(o) for o in allowed if type(o) is str]
    elif not is_variable and expected is list:
        ok = isinstance(value, list) and _list_ok(value, allowed)
    else:
        ok = value in allowed
    return OK if ok else fail("wrong_arguments", f"{param}: {value!r} is not among {allowed!r}"[:300])


def check_call(function: dict[str, Any], call: ParsedCall, expected_name: str, answer: dict[str, list[Any]]) -> Check:
    """BFCL's ``simple_function_checker``: one call against one possible answer ``{param: [allowed values]}``."""
    if call.arguments is None:
        return fail("invalid_json", f"arguments of {call.name!r} are not a JSON object: {call.raw_arguments[:120]!r}")
    if call.name != tool_name(expected_name):
        return fail("wrong_function", f"called {call.name!r}, expected {tool_name(expected_name)!r}")
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


def _check_answer(functions: list[dict[str, Any]], call: ParsedCall, answer: dict[str, Any]) -> Check:
    name = next(iter(answer))
    return check_call(_function(functions, name), call, name, answer[name])


def _greedy(calls: list[ParsedCall], answers: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Check:
    """BFCL's ``parallel_function_checker_no_order``: each answer in turn takes the first unmatched call that fits."""
    matched: set[int] = set()
    for answer in answers:
        verdicts = []
        for index, call in enumerate(calls):
            if index in matched:
                continue
            verdict = _check_answer(functions, call, answer)
            if verdict.valid:
                matched.add(index)
                break
            verdicts.append(verdict)
        else:  # no call fits this answer: report the most telling failure (past the name check if any)
            named = [v for v in verdicts if v.failure != "wrong_function"]
            return (named or verdicts or [fail("wrong_arguments", "no call left to match")])[0]
    return OK


def contains_call(calls: list[ParsedCall]) -> bool:
    """BFCL's reading of an output: a call is there when every call decodes to ``{name: {arguments}}``."""
    return bool(calls) and all(c.json_valid for c in calls)


def check_sample(kind: str, functions: list[dict[str, Any]], calls: list[ParsedCall], ground_truth: Any,
                 *, strict: bool = False) -> Check:
    """The verdict on one BFCL item of ``kind`` (simple, multiple, parallel, irrelevance, relevance);
    ``strict``: any call at all fails an irrelevance item (``accuracy_strict``)."""
    if kind == "irrelevance":
        if contains_call(calls) or (strict and calls):
            return fail("unexpected_call", f"called {calls[0].name!r}")
        return OK
    if kind == "relevance":
        if not calls:
            return fail("no_call", "no tool call")
        return OK if contains_call(calls) else fail("invalid_json", "a call's arguments are not a JSON object")
    answers: list[dict[str, Any]] = list(ground_truth or [])
    if not calls:
        return fail("no_call", "no tool call")
    broken = [c for c in calls if not c.json_valid]
    if broken:  # BFCL cannot decode such an output at all
        return fail("invalid_json", f"arguments of {broken[0].name!r} are not a JSON object")
    due = len(answers) if kind in ("parallel", "multiple") else 1
    if len(calls) > due:
        return fail("extra_calls", f"{len(calls)} calls, {due} due")
    if len(calls) < due:
        return fail("too_few_calls", f"{len(calls)} calls, {due} due")
    if kind == "parallel":
        return _greedy(calls, answers, functions)
    if kind == "simple" and functions:  # BFCL: the first function, whatever name the answer gives
        return check_call(functions[0], calls[0], str(functions[0].get("name")), next(iter(answers[0].values())))
    return _check_answer(functions, calls[0], answers[0])

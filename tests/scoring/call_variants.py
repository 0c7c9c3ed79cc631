"""Test double: function-call outputs built from BFCL's possible answers, right ones and perturbed ones.

For each question, outputs of two sorts, each labelled with what was done to it:

- ``answer``: every ground-truth alternative: each allowed value of each parameter in turn (nested dict and
  list-of-dict answers too), optional parameters left out and given;
- perturbations of those: other function names (dotted original, a suffix, upper case, every other offered
  function), missing parameters (required or optional), extra parameters (undeclared, declared but not in
  the answer, with their default, a filler of their type, ``None``), parameter names in another case, values
  of other types, ints for floats and back, booleans for ints, strings with case / spacing / punctuation /
  quote changes, reordered / shortened / lengthened / empty lists, tuples (what the Python text path
  yields), dict keys missing / extra / reordered, values inside nested lists and dicts, ``None``; and at
  the call level: reordered parallel calls (every order up to four calls), a missing call, a duplicated
  call, an extra call to another offered function, no call at all, one call standing for two.

Deterministic: the same data gives the same outputs in the same order, without repeats.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from mlx_benchmarks.scoring.tool_parsers import ParsedCall
from mlx_benchmarks.scoring.tool_schema import tool_name

Output = list[tuple[str, dict[str, Any]]]  # (function name as the model wrote it, arguments)
WIDEST = 6  # picks of whole answers (each parameter's own alternatives are all tried one by one)
FILLERS: dict[str, Any] = {"string": "x", "integer": 1, "float": 1.5, "boolean": True, "array": [], "tuple": [],
                           "dict": {}, "any": "x"}


def _optional(allowed: Any) -> bool:
    return isinstance(allowed, list) and "" in allowed


def _concrete(value: Any, pick: int, optional: bool) -> Any:
    """One value for an answer option: a dict answer ``{key: [allowed]}`` gets one value per key."""
    if isinstance(value, dict):
        return {k: _choose(v, pick, optional) for k, v in value.items()
                if not (isinstance(v, list) and all(x == "" for x in v)) and (optional or not _optional(v))}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_concrete(v, pick, optional) for v in value]
    return value


def _choose(allowed: Any, pick: int = 0, optional: bool = False) -> Any:
    if not isinstance(allowed, list):
        return allowed
    options = [v for v in allowed if v != ""] or [""]
    return _concrete(options[pick % len(options)], pick, optional)


def answer_values(allowed: list[Any]) -> list[Any]:
    """Every allowed value made concrete (nested answers in several picks)."""
    out: list[Any] = []
    for option in allowed:
        if option == "":
            continue
        nested = isinstance(option, dict) or (isinstance(option, list) and option and isinstance(option[0], dict))
        for pick, optional in itertools.product(range(3 if nested else 1), (False, True) if nested else (False,)):
            value = _concrete(option, pick, optional)
            if value not in out:
                out.append(value)
    return out


def gold_output(truth: list[dict[str, Any]], pick: int = 0, optional: bool = False) -> Output:
    """One call per expected call, the ``pick``-th allowed value of each parameter, names as sent;
    optional parameters (``""`` allowed) left out unless ``optional``."""
    out: Output = []
    for answer in truth:
        ((name, params),) = answer.items()
        args = {k: _choose(v, pick, optional) for k, v in params.items()
                if any(x != "" for x in v) and (optional or "" not in v)}
        out.append((tool_name(name), args))
    return out


def _declared(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for function in functions:
        if tool_name(str(function["name"])) == name:
            return dict((function.get("parameters") or {}).get("properties") or {})
    return {}


def _str_variants(value: str) -> Iterator[Any]:
    yield from (value.upper(), value.lower(), value.title(), value.replace(" ", ""), value.replace(" ", "_"))
    yield from (f" {value}, ", value + "x", value.strip(".,!? "), value.replace("'", '"'), "", None, [value])
    if value.lstrip("-").replace(".", "", 1).isdigit():
        yield float(value)  # a number sent as a string, the other way round


def value_variants(value: Any, spec: dict[str, Any], depth: int = 0) -> Iterator[Any]:
    """Wrong and nearly-right versions of one value: other types, spellings, orders, nested changes."""
    declared = spec.get("type")
    if "default" in spec:
        yield spec["default"]
    yield from (spec.get("enum") or [])[:4]
    if not isinstance(value, (str, list, tuple, dict)):
        yield ""  # what a model writes for "no value"; BFCL's answers write "" for "may be left out"
    if value is None:
        yield from (0, [], {}, "None")
    elif isinstance(value, bool):
        yield from (not value, int(value), str(value).lower(), None)
    elif isinstance(value, int):
        yield from (float(value), str(value), value + 1, -value, None, [value])
        if value in (0, 1):
            yield bool(value)
    elif isinstance(value, float):
        yield from (int(value) if value == int(value) else round(value, 1), str(value), value + 0.5, None)
        yield from (float("nan"), float("inf"))
    elif isinstance(value, str):
        yield from _str_variants(value)
        if declared not in ("string", "any"):
            yield value.lower()
    elif isinstance(value, (list, tuple)):
        items = list(value)
        yield from ([], items[::-1], items[:-1], items + items[-1:], "", None, tuple(items), [str(v) for v in items])
        yield [int(v) if isinstance(v, float) and v == int(v) else v for v in items]
        yield [float(v) if type(v) is int else v for v in items]
        yield [v.upper() if isinstance(v, str) else v for v in items]
        if depth == 0 and items:
            for variant in value_variants(items[0], spec.get("items") or {}, depth + 1):
                yield [variant, *items[1:]]
    elif isinstance(value, dict):
        yield from ({}, {**value, "unexpected_key": 1}, json.dumps(value), None, dict(reversed(value.items())))
        for key in sorted(value):
            yield {k: v for k, v in value.items() if k != key}
            yield {(k.upper() if k == key else k): v for k, v in value.items()}
        if depth == 0:
            for key in sorted(value)[:4]:
                sub = (spec.get("properties") or {}).get(key) or {}
                for variant in value_variants(value[key], sub, depth + 1):
                    yield {**value, key: variant}


def _call_variants(functions: list[dict[str, Any]], gold: Output, index: int) -> Iterator[tuple[str, Output]]:
    """One call of ``gold`` changed: its name, its parameter set, each of its values."""
    name, args = gold[index]

    def replaced(new_name: str = name, new_args: dict[str, Any] = args) -> Output:
        out = copy.deepcopy(gold)
        out[index] = (new_name, new_args)
        return out

    original = next((str(f["name"]) for f in functions if tool_name(str(f["name"])) == name), name)
    if original != name:
        yield "dotted_name", replaced(new_name=original)
    yield "other_name", replaced(new_name=name + "_v2")
    yield "other_name", replaced(new_name=name.upper())
    for function in functions:
        if tool_name(str(function["name"])) != name:
            yield "other_function", replaced(new_name=tool_name(str(function["name"])))
    declared = _declared(functions, name)
    for param in sorted(declared):
        if param not in args:
            spec = declared[param]
            fillers = [spec["default"]] if "default" in spec else []
            fillers += [FILLERS.get(str(spec.get("type")), "x"), None]
            for filler in fillers:
                yield "extra_argument", replaced(new_args={**args, param: filler})
    yield "extra_argument", replaced(new_args={**args, "unexpected_param": 1})
    for param in sorted(args):
        yield "missing_argument", replaced(new_args={k: v for k, v in args.items() if k != param})
        yield "argument_name_case", replaced(new_args={(k.upper() if k == param else k): v for k, v in args.items()})
        for variant in value_variants(args[param], declared.get(param) or {}):
            yield "value", replaced(new_args={**args, param: variant})


def _output_variants(functions: list[dict[str, Any]], gold: Output) -> Iterator[tuple[str, Output]]:
    """The calls of ``gold`` reordered, dropped, repeated, joined by another function's call."""
    if len(gold) <= 4:
        for order in itertools.permutations(range(len(gold))):
            yield "call_order", [gold[i] for i in order]
    else:
        for shift in range(len(gold)):
            yield "call_order", gold[shift:] + gold[:shift]
        yield "call_order", gold[::-1]
    yield "call_count", []
    for index in range(len(gold)):
        yield "call_count", gold[:index] + gold[index + 1:]
        yield "call_count", [*gold, gold[index]]
        for other in range(len(gold)):
            if other != index and len(gold) <= 4:
                yield "call_count", [gold[other] if i == index else call for i, call in enumerate(gold)]
    for function in functions[:4]:
        sent = tool_name(str(function["name"]))
        required = (function.get("parameters") or {}).get("required") or []
        properties = (function.get("parameters") or {}).get("properties") or {}
        extra = (sent, {p: FILLERS.get(str((properties.get(p) or {}).get("type")), "x") for p in required})
        yield "extra_function", [*gold, extra]
        yield "extra_function", [extra, *gold]


def perturbed_outputs(functions: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Iterator[tuple[str, Output]]:
    """``(kind, output)``: every ground-truth alternative, then perturbations of them; no output twice."""
    seen: set[str] = set()

    def fresh(items: Iterator[tuple[str, Output]]) -> Iterator[tuple[str, Output]]:
        for kind, output in items:
            key = repr(output)
            if key not in seen:
                seen.add(key)
                yield kind, output

    yield from fresh(_answers(truth))
    base, full = gold_output(truth), gold_output(truth, optional=True)
    for gold in (base, full) if full != base else (base,):
        yield from fresh(_output_variants(functions, gold))
        for index in range(len(gold)):
            yield from fresh(_call_variants(functions, gold, index))


def _answers(truth: list[dict[str, Any]]) -> Iterator[tuple[str, Output]]:
    widest = max((len(v) for answer in truth for params in answer.values() for v in params.values()), default=1)
    for pick, optional in itertools.product(range(min(widest, WIDEST)), (False, True)):
        yield "answer", gold_output(truth, pick, optional)
    base = gold_output(truth)
    for index, answer in enumerate(truth):
        ((_, params),) = answer.items()
        for param, allowed in params.items():
            for value in answer_values(allowed):
                out = copy.deepcopy(base)
                out[index] = (out[index][0], {**out[index][1], param: value})
                yield "answer", out


def as_calls(output: Output) -> list[ParsedCall]:
    """The output as our scorer receives it."""
    return [ParsedCall(name, args, json.dumps(args), "native") for name, args in output]


def as_bfcl(output: Output) -> list[dict[str, Any]]:
    """The output as BFCL's checker receives it after decoding: ``[{name: arguments}]``."""
    return [{name: copy.deepcopy(args)} for name, args in output]


RawOutput = list[tuple[str, str]]  # (name, raw arguments text) before any decoding


def raw_outputs(functions: list[dict[str, Any]]) -> Iterator[tuple[str, RawOutput]]:
    """Outputs for the answerless categories (irrelevance, relevance), as raw argument texts: no call,
    well-formed calls, calls whose arguments are not JSON or not an object, and mixtures of those."""
    sent = [tool_name(str(f["name"])) for f in functions] or ["f"]
    first = functions[0] if functions else {}
    required = (first.get("parameters") or {}).get("required") or []
    filled = json.dumps({p: "x" for p in required})
    broken, not_object = '{"a": ', '["x"]'
    yield "no_call", []
    yield "call", [(sent[0], filled)]
    yield "call", [(sent[0], "{}")]
    yield "call", [(name, filled) for name in sent[:3]]
    yield "call", [("not_offered", "{}")]
    yield "broken", [(sent[0], broken)]
    yield "broken", [(sent[0], not_object)]
    yield "broken", [(sent[0], "1")]
    yield "mixed", [(sent[0], filled), (sent[-1], broken)]
    yield "mixed", [(sent[0], broken), (sent[-1], filled)]
    yield "mixed", [(sent[0], filled), (sent[-1], not_object)]


def decode_like(decode: Callable[[str], Any], output: RawOutput) -> list[dict[str, Any]]:
    """``[{name: decode(raw)}]``, the shape BFCL's function-calling handlers decode to."""
    return [{name: decode(raw)} for name, raw in output]

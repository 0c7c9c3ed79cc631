"""Test double: function-call outputs built from BFCL's possible answers, right ones and perturbed ones.

For each question: every allowed value of every parameter in turn, and perturbations of the kinds a model
produces and BFCL's checker rules on (dotted names, other types for a value, ints in float arrays, ``[]`` for
optional arrays, case and spacing in strings, strings for non-string parameters, missing / extra parameters,
dict keys, call order, duplicated and missing calls). Deterministic: the same data gives the same outputs.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

from mlx_benchmarks.scoring.tool_parsers import ParsedCall
from mlx_benchmarks.scoring.tool_schema import tool_name

Output = list[tuple[str, dict[str, Any]]]  # (function name as the model wrote it, arguments)


def _concrete(value: Any, pick: int = 0) -> Any:
    if isinstance(value, dict):  # a dict answer is {key: [allowed]}: one value per key, optional keys left out
        return {k: _choose(v, pick) for k, v in value.items() if not isinstance(v, list) or any(x != "" for x in v)}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_concrete(v, pick) for v in value]
    return value


def _choose(allowed: Any, pick: int = 0) -> Any:
    if not isinstance(allowed, list):
        return allowed
    options = [v for v in allowed if v != ""] or [""]
    return _concrete(options[pick % len(options)], pick)


def gold_output(truth: list[dict[str, Any]], pick: int = 0) -> Output:
    """One call per expected call, the ``pick``-th allowed value of each parameter, names as sent."""
    out: Output = []
    for answer in truth:
        ((name, params),) = answer.items()
        args = {k: _choose(v, pick) for k, v in params.items() if any(x != "" for x in v)}
        out.append((tool_name(name), args))
    return out


def _declared(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for function in functions:
        if tool_name(str(function["name"])) == name:
            return dict((function.get("parameters") or {}).get("properties") or {})
    return {}


def _value_variants(value: Any, spec: dict[str, Any], rng: random.Random) -> Iterator[Any]:
    declared = spec.get("type")
    if isinstance(value, bool):
        yield not value
        yield int(value)
    elif isinstance(value, int):
        yield float(value)
        yield str(value)
        yield value + 1
    elif isinstance(value, float):
        yield int(value) if value == int(value) else round(value, 1)
        yield str(value)
    elif isinstance(value, str):
        yield value.upper()
        yield value.replace(" ", "")
        yield f" {value}, "
        yield value + "x"
        if declared != "string":
            yield value.lower()
    elif isinstance(value, list):
        yield []
        yield list(reversed(value))
        yield [int(v) if isinstance(v, float) and v == int(v) else v for v in value]
        yield [float(v) if type(v) is int else v for v in value]
        yield [v.upper() if isinstance(v, str) else v for v in value]
        yield value[:-1]
        yield ""
    elif isinstance(value, dict):
        if value:
            key = rng.choice(sorted(value))
            yield {k: v for k, v in value.items() if k != key}
        yield {**value, "unexpected_key": 1}
        yield json.dumps(value)


def perturbed_outputs(functions: list[dict[str, Any]], truth: list[dict[str, Any]], seed: str) -> Iterator[Output]:
    """Right outputs (every allowed value in turn) and perturbations of them."""
    rng = random.Random(seed)
    widest = max((len(v) for answer in truth for params in answer.values() for v in params.values()), default=1)
    for pick in range(min(widest, 4)):
        yield gold_output(truth, pick)
    gold = gold_output(truth)
    yield list(reversed(gold))
    yield gold + gold[:1]
    if len(gold) > 1:
        yield gold[1:]
    for index, (name, args) in enumerate(gold):
        def replaced(new_name: str = name, new_args: dict[str, Any] = args, at: int = index) -> Output:
            out = copy.deepcopy(gold)
            out[at] = (new_name, new_args)
            return out

        original = next((str(f["name"]) for f in functions if tool_name(str(f["name"])) == name), name)
        if original != name:
            yield replaced(new_name=original)  # the dotted name BFCL's data uses, not the one sent
        yield replaced(new_name=name + "_v2")
        declared = _declared(functions, name)
        for param in sorted(declared):
            if param not in args:
                spec = declared[param]
                filler: Any = [] if spec.get("type") in ("array", "tuple") else spec.get("default", "x")
                yield replaced(new_args={**args, param: filler})
        yield replaced(new_args={**args, "unexpected_param": 1})
        for param in sorted(args):
            yield replaced(new_args={k: v for k, v in args.items() if k != param})
            for variant in _value_variants(args[param], declared.get(param) or {}, rng):
                yield replaced(new_args={**args, param: variant})


def as_calls(output: Output) -> list[ParsedCall]:
    """The output as our scorer receives it."""
    return [ParsedCall(name, args, json.dumps(args), "native") for name, args in output]


def as_bfcl(output: Output) -> list[dict[str, Any]]:
    """The output as BFCL's checker receives it after decoding: ``[{name: arguments}]``."""
    return [{name: copy.deepcopy(args)} for name, args in output]

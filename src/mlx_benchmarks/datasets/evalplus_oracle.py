"""Generated test code for evalplus datasets: differential testing against the reference solution.

evalplus ships inputs, not expected outputs: the expected output of each input is what the reference
solution returns. The generated code runs inside the sandbox after the candidate program: it executes
the reference in its own namespace, calls both on deep copies of each input, and compares the way
evalplus does (special oracles for a few tasks, ``atol`` for floats). It needs the standard library
only.
"""

from __future__ import annotations

import json
from typing import Any

# MBPP+ inputs are stored as JSON lists; these tasks need tuples, sets or complex numbers back.
# Task number -> how to rebuild one input's argument list (see _REBUILD below).
MBPP_INPUT_SHAPES: dict[int, str] = {
    **dict.fromkeys(
        (
            2,
            116,
            132,
            143,
            222,
            261,
            273,
            394,
            399,
            421,
            424,
            429,
            470,
            560,
            579,
            596,
            616,
            630,
            726,
            740,
            744,
            809,
        ),
        "tuple_args",
    ),
    **dict.fromkeys((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780), "tuple_inner"),
    **dict.fromkeys((75, 413, 444, 753), "tuple_inner_first"),
    **dict.fromkeys((106, 750), "tuple_second"),
    **dict.fromkeys((250, 405, 446, 617, 720, 763, 808), "tuple_first"),
    **dict.fromkeys((259, 401, 445), "tuple_inner_args"),
    **dict.fromkeys((580, 615, 791), "tuple_deep"),
    115: "sets_first",
    124: "float_complex",
    252: "complex_first",
    278: "tuple_mixed_first",
    307: "tuple_first_keep",
    722: "dict_tuple_values",
}
# entry points whose output evalplus compares as a set, or only as "not None"
MBPP_SET_EQUAL = (
    "similar_elements",
    "find_char_long",
    "common_in_nested_lists",
    "extract_singly",
    "larg_nnum",
    "intersection_array",
    "find_dissimilar",
    "Diff",
)
MBPP_NOT_NONE = ("check_str", "text_match_three", "text_starta_endb")

_REBUILD = """
def _mlxb_rebuild(shape, inp):
    def deep(v):
        return tuple(deep(x) for x in v) if isinstance(v, list) else v
    if shape == "tuple_args":
        return [tuple(a) for a in inp]
    if shape == "tuple_inner":
        return [[tuple(x) for x in a] for a in inp]
    if shape == "tuple_inner_first":
        return [[tuple(x) for x in inp[0]], inp[1]]
    if shape == "tuple_second":
        return [inp[0], tuple(inp[1])]
    if shape == "tuple_first":
        return [tuple(inp[0]), inp[1]]
    if shape == "tuple_inner_args":
        return [tuple(tuple(x) for x in a) for a in inp]
    if shape == "tuple_deep":
        return deep(inp)
    if shape == "sets_first":
        return [[set(x) if isinstance(x, list) and x else {} for x in inp[0]]]
    if shape == "float_complex":
        return (float(inp[0]), complex(inp[1]))
    if shape == "complex_first":
        return [complex(inp[0])]
    if shape == "tuple_mixed_first":
        return [tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])]
    if shape == "tuple_first_keep":
        return [tuple(inp[0]), inp[1], inp[2]]
    if shape == "dict_tuple_values":
        return [{k: tuple(v) for k, v in inp[0].items()}, *inp[1:]]
    return inp
"""

_COMPARE = """
def _mlxb_is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def _mlxb_allclose(out, exp, atol):
    # numpy.allclose(out, exp, rtol=1e-07, atol=atol) for numbers and (nested) sequences
    if isinstance(exp, (list, tuple)):
        if not isinstance(out, (list, tuple)) or len(out) != len(exp):
            return False
        return all(_mlxb_allclose(o, e, atol) for o, e in zip(out, exp))
    try:
        return abs(out - exp) <= atol + 1e-07 * abs(exp)
    except TypeError:
        return False


def _mlxb_poly(xs, x):
    import math
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def _mlxb_surface_area(base_edge, height):
    import math
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 4 * (base_edge * slant) / 2)


def _mlxb_digit_distance(a, b):
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(x) - int(y)) for x, y in zip(left.zfill(width), right.zfill(width)))


def _mlxb_differential(candidate, reference_source, entry_point, inputs_json, atol, dataset, shape, label):
    import copy
    import json
    namespace = {"__name__": "_mlxb_reference"}
    exec(reference_source, namespace)
    reference = namespace[entry_point]
    inputs = [_mlxb_rebuild(shape, inp) for inp in json.loads(inputs_json)]
    for number, inp in enumerate(inputs):
        exp = reference(*copy.deepcopy(inp))
        if dataset == "mbpp" and entry_point in _MLXB_NOT_NONE:
            exp = exp is not None
        out = candidate(*copy.deepcopy(inp))
        where = f"{label} input #{number}"
        if dataset == "humaneval" and entry_point == "find_zero":
            assert abs(_mlxb_poly(*inp, out)) <= atol, where
            continue
        exact = out == exp
        if dataset == "mbpp":
            if entry_point == "are_equivalent":
                exact = True
            elif entry_point == "sum_div":
                exact = exact or out == 0
            elif entry_point == "surface_Area":
                exact = exact or abs(out - _mlxb_surface_area(*inp)) <= atol
            elif entry_point == "digit_distance_nums":
                exact = exact or out == _mlxb_digit_distance(*inp)
            elif entry_point in _MLXB_SET_EQUAL:
                exact = set(out) == set(exp)
            elif entry_point in _MLXB_NOT_NONE:
                exact = out == exp if isinstance(out, bool) else exp == (out is not None)
        if atol == 0 and _mlxb_is_floats(exp):
            atol = 1e-6
        if not exact and atol != 0:
            assert type(out) == type(exp), where
            assert _mlxb_allclose(out, exp, atol), where
        else:
            assert exact, where
"""


def differential_test(
    *,
    dataset: str,
    entry_point: str,
    reference_source: str,
    inputs: list[Any],
    atol: float,
    task_number: int,
    label: str,
) -> str:
    """Top-level test code checking ``entry_point`` on ``inputs`` against the reference solution."""
    shape = MBPP_INPUT_SHAPES.get(task_number, "") if dataset == "mbpp" else ""
    header = f"_MLXB_SET_EQUAL = {MBPP_SET_EQUAL!r}\n_MLXB_NOT_NONE = {MBPP_NOT_NONE!r}\n"
    call = (
        f"_mlxb_differential({entry_point}, {reference_source!r}, {entry_point!r}, "
        f"{json.dumps(inputs)!r}, {float(atol)!r}, {dataset!r}, {shape!r}, {label!r})\n"
    )
    return header + _REBUILD + _COMPARE + "\n" + call

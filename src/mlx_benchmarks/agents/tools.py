"""Deterministic local tools for the agent tasks: calculator, unit conversion, a lookup table, file reading.

Every tool is a pure function of its arguments (and the task's temporary folder), so an agent's answer is
checkable. A tool given bad input raises ``ToolError``; the loop hands its message back to the model.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class ToolError(Exception):
    """A tool refused its input; the message goes back to the model as the tool result."""


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max,
                                             "log": math.log, "exp": math.exp}
MAX_EXPONENT = 100  # 10**10**10 would hang the process: exponents are capped


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        result: float = _BINARY[type(node.op)](left, right)
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        value: float = _UNARY[type(node.op)](_evaluate(node.operand))
        return value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        called: float = _FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args))
        return called
    raise ToolError(f"unsupported expression element: {ast.dump(node)[:80]}")


def calculate(expression: str) -> float:
    """Arithmetic on numbers with + - * / // % ** and sqrt, abs, round, min, max, log, exp; no eval()."""
    try:
        tree = ast.parse(str(expression).replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ToolError(f"not an arithmetic expression: {expression!r}") from None
    try:
        return _evaluate(tree)
    except (ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot evaluate {expression!r}: {exc}") from None


# unit -> (dimension, factor to the base unit); temperatures are converted separately
UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0), "km": ("length", 1000.0), "cm": ("length", 0.01), "mm": ("length", 0.001),
    "mi": ("length", 1609.344), "ft": ("length", 0.3048), "in": ("length", 0.0254),
    "kg": ("mass", 1.0), "g": ("mass", 0.001), "lb": ("mass", 0.45359237), "oz": ("mass", 0.028349523125),
    "l": ("volume", 1.0), "ml": ("volume", 0.001), "gal": ("volume", 3.785411784),
}
ALIASES = {"mile": "mi", "miles": "mi", "kilometer": "km", "kilometers": "km", "kilometre": "km",
           "kilometres": "km", "meter": "m", "meters": "m", "metre": "m", "metres": "m", "feet": "ft",
           "foot": "ft", "inch": "in", "inches": "in", "pound": "lb", "pounds": "lb", "lbs": "lb",
           "kilogram": "kg", "kilograms": "kg", "gram": "g", "grams": "g", "liter": "l", "liters": "l",
           "litre": "l", "litres": "l", "gallon": "gal", "gallons": "gal", "celsius": "c", "fahrenheit": "f",
           "kelvin": "k", "°c": "c", "°f": "f"}
TEMPERATURES = ("c", "f", "k")


def _unit(name: str) -> str:
    key = str(name).strip().lower()
    return ALIASES.get(key, key)


def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Length, mass, volume and temperature conversions."""
    source, target = _unit(from_unit), _unit(to_unit)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ToolError(f"value must be a number, got {value!r}")
    if source in TEMPERATURES and target in TEMPERATURES:
        kelvin = {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[source]
        return {"c": kelvin - 273.15, "f": (kelvin - 273.15) * 9 / 5 + 32, "k": kelvin}[target]
    if source not in UNITS or target not in UNITS:
        unknown = source if source not in UNITS else target
        raise ToolError(f"unknown unit {unknown!r}; known: {', '.join([*UNITS, *TEMPERATURES])}")
    if UNITS[source][0] != UNITS[target][0]:
        raise ToolError(f"cannot convert {UNITS[source][0]} ({from_unit}) to {UNITS[target][0]} ({to_unit})")
    return value * UNITS[source][1] / UNITS[target][1]


TABLES: dict[str, dict[str, dict[str, Any]]] = {
    "countries": {
        "france": {"capital": "Paris", "population_millions": 68.2, "currency": "EUR"},
        "japan": {"capital": "Tokyo", "population_millions": 124.5, "currency": "JPY"},
        "kenya": {"capital": "Nairobi", "population_millions": 55.1, "currency": "KES"},
        "peru": {"capital": "Lima", "population_millions": 34.4, "currency": "PEN"},
    },
    "elements": {
        "iron": {"symbol": "Fe", "atomic_number": 26, "atomic_mass": 55.845},
        "carbon": {"symbol": "C", "atomic_number": 6, "atomic_mass": 12.011},
        "gold": {"symbol": "Au", "atomic_number": 79, "atomic_mass": 196.967},
    },
    "products": {
        "widget": {"price": 4.25, "stock": 120},
        "gadget": {"price": 19.99, "stock": 8},
        "gizmo": {"price": 7.5, "stock": 0},
    },
}


def lookup(table: str, key: str) -> dict[str, Any]:
    """One row of a small in-memory table (countries, elements, products)."""
    rows = TABLES.get(str(table).strip().lower())
    if rows is None:
        raise ToolError(f"no table {table!r}; tables: {', '.join(TABLES)}")
    row = rows.get(str(key).strip().lower())
    if row is None:
        raise ToolError(f"no row {key!r} in table {table!r}; rows: {', '.join(rows)}")
    return row


def read_file(folder: Path, name: str) -> str:
    """A text file from the task's folder; paths outside it are refused."""
    path = (folder / str(name)).resolve()
    if folder.resolve() not in path.parents:
        raise ToolError(f"{name!r} is outside the task folder")
    if not path.is_file():
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "none"
        raise ToolError(f"no file {name!r}; files: {present}")
    return path.read_text(encoding="utf-8")


SPECS: list[dict[str, Any]] = [
    {"name": "calculator", "description": "Evaluate an arithmetic expression, e.g. '(2 + 3) * sqrt(16)'.",
     "parameters": {"type": "object", "required": ["expression"],
                    "properties": {"expression": {"type": "string", "description": "the expression"}}}},
    {"name": "convert_units", "description": "Convert a value between units of length (m, km, cm, mm, mi, ft, in), "
     "mass (kg, g, lb, oz), volume (l, ml, gal) or temperature (c, f, k).",
     "parameters": {"type": "object", "required": ["value", "from_unit", "to_unit"], "properties": {
         "value": {"type": "number", "description": "the amount"},
         "from_unit": {"type": "string", "description": "unit of the value"},
         "to_unit": {"type": "string", "description": "unit wanted"}}}},
    {"name": "lookup", "description": "Look up one row of a table: 'countries' (capital, population_millions, "
     "currency), 'elements' (symbol, atomic_number, atomic_mass) or 'products' (price, stock).",
     "parameters": {"type": "object", "required": ["table", "key"], "properties": {
         "table": {"type": "string", "enum": list(TABLES)}, "key": {"type": "string", "description": "row name"}}}},
    {"name": "read_file", "description": "Read a text file from the working folder.",
     "parameters": {"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "description": "file name"}}}},
]


def render(value: Any) -> str:
    """A tool result as the text the model sees."""
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class Toolbox:
    """The tools of one task run, bound to its folder, counting calls and errors."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = 0
        self.errors = 0
        self._lock = threading.Lock()  # LangGraph's ToolNode and ADK run one turn's calls in parallel threads

    @staticmethod
    def openai_tools() -> list[dict[str, Any]]:
        return [{"type": "function", "function": spec} for spec in SPECS]

    def _dispatch(self, name: str, arguments: dict[str, Any]) -> Any:
        if name == "calculator":
            return calculate(arguments["expression"])
        if name == "convert_units":
            return convert_units(arguments["value"], arguments["from_unit"], arguments["to_unit"])
        if name == "lookup":
            return lookup(arguments["table"], arguments["key"])
        if name == "read_file":
            return read_file(self.folder, arguments["name"])
        raise ToolError(f"no tool {name!r}; tools: {', '.join(s['name'] for s in SPECS)}")

    def run(self, name: str, arguments: dict[str, Any] | None) -> str:
        """Run one call; any failure becomes ``error: ...`` text (counted), never an exception."""
        with self._lock:
            self.calls += 1
        try:
            if arguments is None:
                raise ToolError("arguments are not a JSON object")
            return render(self._dispatch(name, arguments))
        except KeyError as exc:
            return self._failed(f"error: missing argument {exc}")
        except Exception as exc:  # a tool that raises is data for the model, never a crash of the run
            return self._failed(f"error: {exc}")

    def _failed(self, text: str) -> str:
        with self._lock:
            self.errors += 1
        return text

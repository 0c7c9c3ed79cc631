"""The four tools as plain typed Python functions with Google-style docstrings, bound to one task's toolbox.

Frameworks that build tool schemas from a function's signature and docstring (smolagents' ``tool``, Google
ADK's ``FunctionTool``) take these; every call still goes through the counting ``Toolbox``, so tool calls and
tool errors are counted the same way for every framework.

No ``from __future__ import annotations`` here: the frameworks read the annotations at run time.
"""

from collections.abc import Callable
from typing import Any

from mlx_benchmarks.agents.tools import Toolbox


def tool_functions(toolbox: Toolbox) -> list[Callable[..., Any]]:
    """calculator, convert_units, lookup and read_file, each answering through ``toolbox``."""

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression, e.g. '(2 + 3) * sqrt(16)'.

        Args:
            expression: the arithmetic expression
        """
        return toolbox.run("calculator", {"expression": expression})

    def convert_units(value: float, from_unit: str, to_unit: str) -> str:
        """Convert a value between units of length (m, km, cm, mm, mi, ft, in), mass (kg, g, lb, oz),
        volume (l, ml, gal) or temperature (c, f, k).

        Args:
            value: the amount
            from_unit: unit of the value
            to_unit: unit wanted
        """
        return toolbox.run("convert_units", {"value": value, "from_unit": from_unit, "to_unit": to_unit})

    def lookup(table: str, key: str) -> str:
        """Look up one row of a table: 'countries' (capital, population_millions, currency), 'elements'
        (symbol, atomic_number, atomic_mass) or 'products' (price, stock).

        Args:
            table: the table name
            key: the row name
        """
        return toolbox.run("lookup", {"table": table, "key": key})

    def read_file(name: str) -> str:
        """Read a text file from the working folder.

        Args:
            name: the file name
        """
        return toolbox.run("read_file", {"name": name})

    return [calculator, convert_units, lookup, read_file]

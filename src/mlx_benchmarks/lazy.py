"""Heavy libraries imported on first use, so that commands which never touch them start fast.

``runs`` and ``show`` on an indexed store need DuckDB only; pyarrow (with numpy, ~0.5 s to import) is needed
when a shard is written or the index is rebuilt, and jsonschema when an envelope is validated. A module
written ``pa = lazy_module("pyarrow")`` (with the real import under ``TYPE_CHECKING`` for the type checker)
imports pyarrow the first time one of its names is looked up.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module until an attribute is asked for, then for the imported module itself."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"


def lazy_module(name: str) -> Any:
    """``name``, imported when first used (typed ``Any``: declare the real module under TYPE_CHECKING)."""
    return LazyModule(name)

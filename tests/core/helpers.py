"""Small builders for core tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from mlx_benchmarks.envelope import schema


def example_envelope(**overrides: Any) -> dict[str, Any]:
    """The schema's own example, with overrides."""
    document: dict[str, Any] = copy.deepcopy(schema()["examples"][0])
    document.update(overrides)
    return document


def write_json(path: Any, document: Any) -> Any:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path

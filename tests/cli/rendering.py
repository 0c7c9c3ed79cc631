"""Render console output at a fixed width as plain text, the way rich's own tests compare it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"


def envelope(name: str) -> dict[str, Any]:
    """A stored envelope from a real run (calibration server or scripted tool server), trimmed."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def rendered(draw: Callable[[Console], None], width: int) -> str:
    """What ``draw`` prints on a ``width``-column console with no colour, trailing spaces dropped."""
    out = Console(width=width, record=True, file=io.StringIO(), force_terminal=False, color_system=None)
    draw(out)
    return "\n".join(line.rstrip() for line in out.export_text().splitlines()) + "\n"


REGENERATE = "MLX_BENCH_REGEN_GOLDEN"  # set to 1 to rewrite the golden files from what the code prints now


def golden(name: str, text: str) -> str:
    """The golden text ``name`` (under golden/), first rewritten with ``text`` when $MLX_BENCH_REGEN_GOLDEN=1."""
    import os

    path = GOLDEN / name
    if os.environ.get(REGENERATE) == "1":
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")

"""TEST DOUBLE: the doubling target of ``echo_target``, whose health a test switches from outside.

``SWITCHABLE_DOWN=FILE``: while FILE exists every request fails (a target that went away mid-run);
``SWITCHABLE_DELAY_S``: seconds per request; ``SWITCHABLE_LOG=FILE``: one line per request (the prompt's number),
so tests can count what was asked. Used as ``py:tests.doubles.switchable_target:switchable_target``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.doubles.echo_target import ScriptedTarget, double_it


def _down(prompt: str) -> bool:
    log = os.environ.get("SWITCHABLE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(prompt.split()[2] + "\n")
    flag = os.environ.get("SWITCHABLE_DOWN")
    return bool(flag) and Path(str(flag)).exists()


def switchable_target(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(double_it, fail=_down, delay_s=float(os.environ.get("SWITCHABLE_DELAY_S", "0")),
                          model=model or "switchable-doubler")

"""The canary: before any generation, the sandbox must tell a right program from a wrong one.

A known-good and a known-wrong program, both using what tests commonly use (``platform``,
``socket.gethostname``, ``asyncio``, ``multiprocessing.Pipe``, ``tempfile``, ``sqlite3``, ``decimal``,
``re``), run through the real set-up (profile, namespaces, uid, limits, the reference's semantics).
The right one must pass and the wrong one must fail its assertion; anything else (a profile that
denies a module, a namespace that breaks ``socketpair``, a runner that passes everything) would score
every answer wrong, or right, so the code suites refuse: exit 2 and one line naming what failed.
"""

from __future__ import annotations

import functools

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.datasets.evalplus_oracle import differential_test
from mlx_benchmarks.sandbox.backend import SandboxUnavailable
from mlx_benchmarks.sandbox.checks import Semantics
from mlx_benchmarks.sandbox.launch import Backend
from mlx_benchmarks.sandbox.run import check_many
from mlx_benchmarks.sandbox.verdict import SandboxResult

__all__ = ["GOOD", "WRONG", "canary_specs", "check_canary", "run_canary"]

GOOD = '''import asyncio
import decimal
import platform
import re
import socket
import sqlite3
import tempfile
from multiprocessing import Pipe


def describe(n):
    left, right = Pipe()
    left.send(n)
    got = right.recv()

    async def twice(x):
        return 2 * x

    doubled = asyncio.run(twice(got))
    handle, path = tempfile.mkstemp()
    connection = sqlite3.connect(":memory:")
    squared = connection.execute("select ? * ?", (doubled, doubled)).fetchone()[0]
    connection.close()
    third = decimal.Decimal(doubled) / decimal.Decimal(3)
    digits = "".join(re.findall(r"[0-9]", str(squared)))
    named = bool(socket.gethostname()) and bool(platform.system()) and bool(path)
    return f"{doubled}|{digits}|{third:.3f}|{named}"
'''
WRONG = GOOD.replace("return 2 * x", "return 2 * x + 1")
TEST = 'def check(candidate):\n    assert candidate(21) == "42|1764|14.000|True"\n    assert candidate(5) == "10|100|3.333|True"\n'


def canary_specs(semantics: Semantics) -> CodeSpec:
    """The canary's problem, with tests in the shape of the suites that use ``semantics``."""
    if semantics == "humaneval":
        return CodeSpec(entry_point="describe", test=TEST, canonical_solution=GOOD)
    test = differential_test(dataset="humaneval", entry_point="describe", reference_source=GOOD,
                             inputs=[[21], [5]], atol=0.0, task_number=0, label="base")
    return CodeSpec(entry_point="describe", test=test, canonical_solution=GOOD, plus_test=test)


def check_canary(kind: Backend, semantics: Semantics, good: SandboxResult, wrong: SandboxResult) -> None:
    """Refuse (``SandboxUnavailable``, one line) unless the good program passed and the wrong one failed."""
    where = f"the {kind} sandbox failed its canary ({semantics} checks)"
    if not good.passed:
        reason = (good.error or "no error").splitlines()[0][:200] if good.error else "no error"
        raise SandboxUnavailable(f"{where}: a known-good program was scored {good.status} ({reason}), "
                                 "so every right answer would be scored wrong; see docs/sandbox.md")
    if wrong.status != "failed" or wrong.error_type != "AssertionError":
        raise SandboxUnavailable(f"{where}: a known-wrong program was scored {wrong.status} "
                                 f"({wrong.error or 'no error'}), not failed by its assertion; see docs/sandbox.md")


@functools.cache
def run_canary(kind: Backend, semantics: Semantics = "humaneval") -> None:
    """Run the canary once per process for this backend and semantics; raise if the sandbox cannot judge."""
    spec = canary_specs(semantics)
    good, wrong = check_many([(spec, GOOD), (spec, WRONG)], workers=2, kind=kind, semantics=semantics)
    check_canary(kind, semantics, good, wrong)

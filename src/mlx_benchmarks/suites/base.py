"""The suite seam: a suite is data + a solver + a scorer (or a workload + a load pattern + metrics).

A suite module defines one class implementing ``Suite`` and is named in ``registry.SUITES``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.console import Console

from mlx_benchmarks.envelope import GenKwargs, MemorySnapshot, Result
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.targets.base import Target


@dataclass
class RunContext:
    """What a suite gets to work with. ``options`` holds the parsed command-line flags."""

    target: Target
    options: Mapping[str, Any]
    console: Console
    memory: MemorySampler
    run_key: str  # stable id of this run, used by the sample journal for --resume
    seed: int = 1234
    journal: Any = None  # runner.journal.SampleJournal when the suite records samples
    cold: bool = True  # no request has reached the target since it loaded

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name, default)
        return default if value is None else value


@dataclass
class SuiteOutcome:
    """What a suite hands back to the runner, which turns it into an envelope."""

    results: list[Result] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    gen_kwargs: GenKwargs | None = None
    memory_snapshots: list[MemorySnapshot] = field(default_factory=list)
    partial: bool = False  # some requests failed; results hold what succeeded


class Suite(Protocol):
    """One benchmark suite; ``name`` is one of the schema's suite names."""

    name: str
    description: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Suite-specific flags (validated before any work starts)."""

    def validate_options(self, options: Mapping[str, Any]) -> None:
        """Raise UsageError for invalid flag values before anything runs."""

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        """Run the suite against ``ctx.target``. Per-request failures go into the outcome's errors."""
        ...

"""A sweep as cells: every ``[[suites]]`` combination on every ``[[targets]]`` entry, one Ray task each.

The head fixes each cell's run key and timestamp before anything runs, so every attempt of a cell (the
first, and a retry on another node after the first node was lost) stores under the same shard id
(``store.shard_id``: timestamp, commit, suite, model and a hash of the run key): a lake that already holds
it is never given a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.envelope import utc_now_iso
from mlx_benchmarks.runner.execute import RunRequest, new_run_key
from mlx_benchmarks.runner.multi import SPEED_SUITES, is_remote
from mlx_benchmarks.sweep import Condition, Sweep
from mlx_benchmarks.targets.registry import TargetSpec


@dataclass(frozen=True)
class Cell:
    """One suite with one set of options on one target: what one node runs."""

    index: int
    run_index: int  # which SweepRun (one comparison table per run)
    label: str  # the target's label
    request: RunRequest
    run_key: str
    timestamp: str
    where: tuple[Condition, ...]

    @property
    def timed(self) -> bool:
        """A speed suite, or a model held on the node itself: it must have the machine to itself."""
        return self.request.suite in SPEED_SUITES or not is_remote(self.request)

    @property
    def placement(self) -> str:
        """The cell's ``where`` in words ("any node" when it has none)."""
        return ", ".join(map(str, self.where)) or "any node"


@dataclass
class CellOutcome:
    """What a node reports for one cell (plain data: it crosses the Ray boundary)."""

    index: int
    node_id: str = ""
    hostname: str = ""
    run_id: str | None = None
    envelope: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int = 0
    already: str | None = None  # "store" or "lake" when an earlier attempt had finished the cell
    published: list[str] | None = None  # shard ids this attempt added to the lake
    publish_error: str | None = None


def plan_cells(sweep: Sweep, *, git_sha: str, timestamp: str | None = None) -> list[Cell]:
    """Every cell of ``sweep``, each with a fresh run key; ``git_sha`` is the head's, for every node."""
    stamp = timestamp or utc_now_iso()
    cells: list[Cell] = []
    for run_index, run in enumerate(sweep.runs):
        for target in sweep.targets:
            spec = TargetSpec(target=target.target, model=target.model, serve=target.serve,
                              timeout_s=target.timeout_s, api_key_env=target.api_key_env)
            request = RunRequest(suite=run.suite, options=dict(run.options), seed=sweep.seed,
                                 skip_unavailable=sweep.skip_unavailable, git_sha=git_sha, spec=spec)
            cells.append(Cell(index=len(cells), run_index=run_index, label=target.label, request=request,
                              run_key=new_run_key(run.suite), timestamp=stamp, where=target.where + run.placement))
    return cells

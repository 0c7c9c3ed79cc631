"""The head of a fleet: place every cell on the nodes whose labels match, run each as one Ray task,
show one live table of cells × status, and say what became of every cell.

- Placement is resolved against ``ray.nodes()`` before anything runs (Ray's label selectors compare text
  only, so ``memory_gb = ">=64"`` is turned into the ids of the matching nodes, ``in(id1,id2)``). A cell no
  live node can take is reported at once, never submitted.
- A task lost with its machine is retried once elsewhere (``max_retries=1``; a failure of the run itself is
  data and is not retried). While a cell waits, the head checks that one of its nodes is still alive; when
  none is, the cell is cancelled and reported instead of waited on forever.
- Nodes report "running" to a small actor on the head's node, which the live table reads.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, PrerequisiteError, UsageError
from mlx_benchmarks.fleet.cells import Cell, CellOutcome
from mlx_benchmarks.fleet.labels import TIMED_RESOURCE, cell_resources, matches, node_selector
from mlx_benchmarks.fleet.node import run_cell

CHECK_NODES_S = 2.0  # how often waiting cells are checked against the nodes still alive


def import_ray() -> Any:
    """Ray, imported now (never at CLI start); PrerequisiteError naming the extra when it is missing."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise PrerequisiteError("--ray needs Ray: pip install 'mlx-benchmarks[fleet]'") from None


def connect(address: str | None) -> tuple[Any, bool]:
    """Ray, connected to the cluster at ``address`` (already connected: as it is); and whether this call
    connected it (so the caller knows whether to disconnect)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UsageError(f"--ray {address}: cannot join the cluster: {exc}") from None
    return ray, True


@dataclass(frozen=True)
class FleetNode:
    """A live node as the head sees it."""

    node_id: str
    labels: dict[str, str]
    resources: dict[str, float]

    @property
    def name(self) -> str:
        return self.labels.get("hostname") or self.node_id[:8]


def live_nodes(ray: Any) -> list[FleetNode]:
    """Every alive node with its labels and total resources."""
    return [FleetNode(n["NodeID"], dict(n.get("Labels") or {}), dict(n.get("Resources") or {}))
            for n in ray.nodes() if n.get("Alive")]


def candidates(cell: Cell, nodes: Sequence[FleetNode]) -> list[FleetNode]:
    """The nodes that may run ``cell``: labels match, and enough of the fleet resource to take it."""
    need = cell_resources(cell.timed)[TIMED_RESOURCE]
    return [n for n in nodes if matches(cell.where, n.labels) and n.resources.get(TIMED_RESOURCE, 0.0) >= need]


@dataclass
class CellState:
    """A cell's line in the live table."""

    cell: Cell
    nodes: list[str]  # ids of the nodes it may run on
    status: str = "waiting"
    node: str = ""
    attempts: int = 0
    outcome: CellOutcome | None = None
    error: str | None = None
    exit_code: int = 0
    started: float | None = None
    history: list[str] = field(default_factory=list)  # node ids it started on, in order


def status_table(states: Sequence[CellState], names: dict[str, str]) -> Table:
    """The live table: one row per cell."""
    table = Table(title="fleet sweep")
    for column in ("#", "suite", "target", "where", "node", "status", "run id"):
        table.add_column(column)
    for state in states:
        cell = state.cell
        run_id = state.outcome.run_id if state.outcome and state.outcome.run_id else ""
        table.add_row(str(cell.index), cell.request.suite, cell.label, cell.placement,
                      names.get(state.node, state.node[:8]), state.status, run_id)
    return table


def _board_class(ray: Any) -> Any:
    @ray.remote(num_cpus=0)
    class Board:
        """Where nodes say a cell started (the head's table reads it)."""

        def __init__(self) -> None:
            self.started: dict[int, list[str]] = {}

        def start(self, index: int, node_id: str) -> None:
            self.started.setdefault(index, []).append(node_id)

        def snapshot(self) -> dict[int, list[str]]:
            return self.started

    return Board


def _task(ray: Any) -> Any:
    def run_on_node(cell: Cell, lake: str | None, board: Any) -> CellOutcome:
        node_id = ray.get_runtime_context().get_node_id()
        board.start.remote(cell.index, node_id)
        return run_cell(cell, lake, node_id=node_id)

    return ray.remote(run_on_node)


@dataclass
class FleetRun:
    """Drives one sweep's cells on a Ray cluster."""

    address: str | None
    lake: str | None
    console: Console | None = None  # None: no live table
    poll_s: float = 0.5
    live: bool = True
    on_update: Callable[[list[CellState]], None] | None = None  # tests watch progress through this

    def run(self, cells: Sequence[Cell]) -> list[CellState]:
        ray, _ = connect(self.address)
        nodes = live_nodes(ray)
        names = {n.node_id: n.name for n in nodes}
        states = [CellState(cell, [n.node_id for n in candidates(cell, nodes)]) for cell in cells]
        for state in states:
            if not state.nodes:
                state.status, state.exit_code = "no node", EXIT_NO_MEASUREMENT
                state.error = (f"no live node matches {state.cell.placement} and offers {TIMED_RESOURCE} "
                               "(join it with `mlx-bench fleet join`)")
        here = ray.get_runtime_context().get_node_id()
        board = _board_class(ray).options(label_selector=node_selector([here])).remote()
        task = _task(ray)
        pending: dict[Any, CellState] = {}
        for state in states:
            if state.nodes:
                ref = task.options(num_cpus=0, resources=cell_resources(state.cell.timed), max_retries=1,
                                   retry_exceptions=False, label_selector=node_selector(state.nodes),
                                   name=f"mlx-bench cell {state.cell.index}").remote(state.cell, self.lake, board)
                pending[ref] = state
        show = self.live and self.console is not None
        with Live(status_table(states, names), console=self.console, auto_refresh=False,
                  transient=False) if show else _NoLive() as live:
            checked = time.monotonic()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s)
                self._read_board(ray, board, pending.values())  # before finishing: the last start counts too
                for ref in ready:
                    self._finish(ray, pending.pop(ref), ref)
                if time.monotonic() - checked >= CHECK_NODES_S:
                    checked = time.monotonic()
                    self._drop_orphans(ray, pending)
                live.update(status_table(states, names), refresh=True)
                if self.on_update is not None:
                    self.on_update(states)
        self._read_board(ray, board, states, final=True)
        return states

    def _finish(self, ray: Any, state: CellState, ref: Any) -> None:
        try:
            outcome: CellOutcome = ray.get(ref)
        except Exception as exc:  # lost with its machines twice, or unschedulable: none of its nodes is left
            state.status, state.exit_code = "lost", EXIT_NO_MEASUREMENT
            if not {n.node_id for n in live_nodes(ray)}.intersection(state.nodes):
                state.error = self._orphaned(state)
            else:
                state.error = f"{type(exc).__name__}: lost with its node ({len(state.history)} attempt(s))"
            return
        state.outcome, state.node = outcome, outcome.node_id or state.node
        if outcome.error:
            state.status, state.error, state.exit_code = "failed", outcome.error, outcome.exit_code
        elif outcome.publish_error:
            state.status, state.error, state.exit_code = "stored, not published", outcome.publish_error, outcome.exit_code
        else:
            state.status = {"lake": "done (in the lake already)", "store": "done (stored already)"}.get(
                outcome.already or "", "done")

    def _read_board(self, ray: Any, board: Any, states: Any, *, final: bool = False) -> None:
        """Which node each cell started on, attempt by attempt; ``final``: the record only, not the status."""
        try:
            started: dict[int, list[str]] = ray.get(board.snapshot.remote(), timeout=30 if final else 5)
        except Exception:  # the table is a view; a slow board only delays it
            return
        for state in states:
            history = started.get(state.cell.index, [])
            if history and history != state.history:
                state.history, state.attempts = list(history), len(history)
                if not final:
                    state.node = history[-1]
                    state.status = "running" if len(history) == 1 else f"retrying (attempt {len(history)})"

    def _drop_orphans(self, ray: Any, pending: dict[Any, CellState]) -> None:
        """Cancel the cells none of whose nodes is alive any more: nothing would ever run them."""
        alive = {n.node_id for n in live_nodes(ray)}
        for ref, state in list(pending.items()):
            if not alive.intersection(state.nodes):
                ray.cancel(ref, force=True)
                state.status, state.exit_code, state.error = "lost", EXIT_NO_MEASUREMENT, self._orphaned(state)
                del pending[ref]

    @staticmethod
    def _orphaned(state: CellState) -> str:
        return f"every node that matches {state.cell.placement} has left the cluster"


class _NoLive:
    """Stands in for rich's Live when no live table is wanted (``--json``)."""

    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, renderable: Any, refresh: bool = False) -> None:
        del renderable, refresh

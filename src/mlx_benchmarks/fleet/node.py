"""What a fleet node does with one cell: run it into its own store, then publish that one shard to the lake.

Every attempt of a cell uses the run key and timestamp the head fixed, so it lands on the same shard id.
Before running, the node asks whether the cell is done already: in its own store (a retry on the same
machine after its worker died) or in the lake (an earlier attempt on a machine that was lost after it
published). Otherwise it starts the run as a resume of that key with an empty journal, which is how the
runner takes a key and a timestamp it did not choose; a journal left by an earlier attempt on this
machine is resumed for real, finished samples kept.

Nothing here imports Ray: the driver wraps ``run_cell`` in a Ray task.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

from rich.console import Console

from mlx_benchmarks.errors import EXIT_FAILURE, EXIT_PUBLISH, BenchError
from mlx_benchmarks.fleet.cells import Cell, CellOutcome
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.publish import publish, writer_for
from mlx_benchmarks.paths import default_store_root, use_store_root
from mlx_benchmarks.runner.execute import Runner, run_sync
from mlx_benchmarks.runner.journal import INPROGRESS_DIR, SampleJournal
from mlx_benchmarks.store import Store, run_key_digest
from mlx_benchmarks.targets.credentials import redact_text


def in_lake(lake: str, run_key: str) -> str | None:
    """The shard id a run key already has in the lake, if any (complete shards only)."""
    suffix = "-" + run_key_digest(run_key)
    found = sorted(i for i in writer_for(parse_location(lake)).complete_run_ids() if i.endswith(suffix))
    return found[0] if found else None


def _start_journal(store: Store, cell: Cell) -> None:
    """The journal a fresh attempt resumes: the head's run key and timestamp (kept if one exists here)."""
    root = Path(store.root)
    if (root / INPROGRESS_DIR / cell.run_key).is_dir():
        return
    journal = SampleJournal.create(root, cell.run_key, {"request": cell.request.to_json(), "timestamp": cell.timestamp,
                                                       "credentials": cell.request.has_credentials})
    journal.release()  # the runner takes the lock when it resumes


def run_cell(cell: Cell, lake: str | None, *, node_id: str = "", store_root: str | None = None) -> CellOutcome:
    """Run ``cell`` here (unless done already), store it in this node's store, publish it to ``lake``.

    Failures of the run are data (``error``, ``exit_code``); only a lost machine makes Ray try again.
    """
    outcome = CellOutcome(index=cell.index, node_id=node_id, hostname=socket.gethostname())
    location = store_root or default_store_root()
    use_store_root(location)  # the node's cache (converted models, datasets) lives with its store
    try:
        store = Store(location)
        outcome.run_id = store.find_run_key(cell.run_key)
        published = in_lake(lake, cell.run_key) if lake and outcome.run_id is None else None
        if outcome.run_id is not None:
            outcome.already = "store"
        elif published is not None:
            outcome.run_id, outcome.already = published, "lake"
            return outcome  # another machine ran and published it; this one has nothing to add
        else:
            _start_journal(store, cell)
            report = run_sync(Runner(store, Console(file=io.StringIO(), width=120)), cell.request,
                              resume_key=cell.run_key)
            outcome.run_id = report.stored.run_id
        outcome.envelope = store.envelope(outcome.run_id)
    except BenchError as exc:
        outcome.error, outcome.exit_code = redact_text(str(exc)), exc.exit_code
        return outcome
    except Exception as exc:  # one cell's crash is that cell's failure, reported, not retried
        outcome.error, outcome.exit_code = redact_text(f"{type(exc).__name__}: {exc}"), EXIT_FAILURE
        return outcome
    if lake:
        try:
            outcome.published = publish(store, lake, run_ids={outcome.run_id}).new
        except BenchError as exc:
            outcome.publish_error, outcome.exit_code = str(exc), EXIT_PUBLISH
    return outcome

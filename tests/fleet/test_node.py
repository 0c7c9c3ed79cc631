"""What a node does with a cell, without Ray: run, store, publish; an attempt after an earlier one that
finished (on this machine, or on another that published) adds nothing; a failed run is data."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from mlx_benchmarks.cli.sweep_cmd import report_fleet, validate_suite_options
from mlx_benchmarks.fleet.cells import Cell, plan_cells
from mlx_benchmarks.fleet.driver import CellState, status_table
from mlx_benchmarks.fleet.node import run_cell
from mlx_benchmarks.lake.remote import RemoteStore
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.store import Store, run_key_digest
from mlx_benchmarks.sweep import parse_sweep


def cells_for(url: str) -> list[Cell]:
    plan = parse_sweep(f"""
[[targets]]
label = "calib"
target = "{url}"
[[targets]]
label = "gone"
target = "http://127.0.0.1:9/v1"
[[suites]]
name = "ttft"
options = {{ prompt_lengths = "16", gen_tokens = "4", trials = 2, warmup = 0, client_check = false }}
""", validate_suite_options)
    return plan_cells(plan, git_sha="abcdef0", timestamp="2026-12-04T10:00:00Z")


def test_every_attempt_of_a_cell_lands_on_one_shard(tmp_path: Path, bucket: Any) -> None:
    lake = f"s3://{bucket[1]}/lake"
    with SpawnedCalibrationServer(ttft_ms=5, itl_ms=1) as server:
        cell, gone = cells_for(server.url)
        first = run_cell(cell, lake, node_id="n1", store_root=str(tmp_path / "one"))
        again_here = run_cell(cell, lake, store_root=str(tmp_path / "one"))  # Ray retried on the same machine
        elsewhere = run_cell(cell, lake, store_root=str(tmp_path / "two"))  # ... or on another one
        failed = run_cell(gone, lake, store_root=str(tmp_path / "one"))
    assert first.error is None and first.already is None and first.node_id == "n1"
    assert first.run_id is not None and first.run_id.startswith("run-20261204T100000-abcdef0-ttft-")
    assert first.run_id.endswith(run_key_digest(cell.run_key)) and first.published == [first.run_id]
    assert first.envelope is not None and first.envelope["timestamp"] == "2026-12-04T10:00:00Z"
    assert (again_here.already, again_here.run_id, again_here.published) == ("store", first.run_id, [])
    assert (elsewhere.already, elsewhere.run_id, elsewhere.envelope) == ("lake", first.run_id, None)
    assert Store(tmp_path / "two").run_ids() == []  # it did not run the cell again
    assert RemoteStore(lake).run_ids() == [first.run_id]
    assert failed.run_id is None and failed.exit_code == 2 and failed.error
    assert Store(tmp_path / "one").run_ids() == [first.run_id]

    states = [CellState(cell, ["n1"], status="done", node="n1", attempts=1, outcome=first),
              CellState(gone, [], status="no node", error="no live node matches any node", exit_code=6)]
    table = io.StringIO()
    Console(file=table, width=150, color_system=None).print(status_table(states, {"n1": "studio"}))
    rows = [line for line in table.getvalue().splitlines() if "│" in line and "ttft" in line]
    assert "studio" in rows[0] and "done" in rows[0] and first.run_id[:20] in rows[0]
    assert "no node" in rows[1]
    printed = io.StringIO()
    plan = parse_sweep('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "ttft"\n', validate_suite_options)
    code = report_fleet(states, plan, Console(file=printed, width=200, color_system=None), as_json=False)
    text = printed.getvalue()
    assert code == 6 and "capability-comparison · ttft" in text and "calib" in text
    assert "[1] gone ttft: no node: no live node matches any node" in text


def test_an_attempt_resumes_the_journal_an_earlier_one_left_on_this_machine(tmp_path: Path) -> None:
    from mlx_benchmarks.fleet.node import _start_journal
    from mlx_benchmarks.runner.journal import SampleJournal

    store = Store(tmp_path / "node")
    with SpawnedCalibrationServer(ttft_ms=5, itl_ms=1) as server:
        cell = cells_for(server.url)[0]
        _start_journal(store, cell)  # the first attempt started, then its worker died
        _, config = SampleJournal.open(Path(store.root), cell.run_key)
        assert config["timestamp"] == cell.timestamp and config["request"]["git_sha"] == "abcdef0"
        outcome = run_cell(cell, None, store_root=str(store.root))
    assert outcome.error is None and outcome.run_id == store.find_run_key(cell.run_key)
    assert not (Path(store.root) / "inprogress" / cell.run_key).exists()  # finished: journal removed

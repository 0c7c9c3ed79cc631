"""``mlx-bench runs`` on a store with capability-comparison twins and more runs than a screen (#20), and what
``runs``/``show`` import: neither pandas nor pyarrow.dataset (DuckDB imports pandas when handed an Arrow table).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.rendering import envelope
from tests.cli.test_runs_show_formats import cli

from mlx_benchmarks.cli import runs_cmd
from mlx_benchmarks.store import Store
from mlx_benchmarks.views.runs_listing import COMPARISON_SUITE


@pytest.fixture
def with_twin(tmp_path: Path) -> Path:
    """A throughput run, a reasoning run, and the capability-comparison twin a multi-target run stores."""
    store = Store(tmp_path / "store")
    store.put(envelope("throughput_grid"))
    reasoning = envelope("reasoning")
    underlying = store.put(reasoning).run_id
    twin = json.loads(json.dumps(reasoning))
    twin["suite"] = COMPARISON_SUITE
    for result in twin["results"]:
        result["tags"].update(underlying_suite="reasoning", target="a", comparison="cmp-1", underlying_run=underlying)
    store.put(twin)
    return tmp_path / "store"


def test_twins_are_hidden_unless_asked_for(with_twin: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin))
    assert code == 0 and out.startswith("2 runs") and COMPARISON_SUITE not in out.split("ids are")[0]
    assert "1 capability-comparison twin of multi-target runs not shown: --twins lists them" in out
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin), "--twins")
    assert code == 0 and out.startswith("3 runs") and COMPARISON_SUITE in out and "not shown" not in out
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin), "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin), "--suite", COMPARISON_SUITE, "--json")
    assert [r["suite"] for r in json.loads(out)] == [COMPARISON_SUITE]  # asked for by name: listed


def test_a_table_shows_the_newest_runs_and_says_how_many_more(with_twin: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_cmd, "TABLE_ROWS", 1)
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin))
    assert code == 0 and out.startswith("newest 1 of 2 runs")
    assert "1 older run not shown: --limit N shows more" in out
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(with_twin), "--json")
    assert len(json.loads(out)) == 2  # json and csv list every run


CHILD = """
import sys
from mlx_benchmarks.cli.main import entry
try:
    entry()
finally:
    heavy = sorted(m for m in sys.modules if m.split(".")[0] == "pandas" or m.startswith("pyarrow.dataset"))
    sys.stderr.write("HEAVY " + " ".join(heavy) + "\\n")
"""


@pytest.mark.parametrize("args", [("runs",), ("show", "run-20261130T054441"), ("runs", "--limit", "1")])
def test_runs_and_show_import_neither_pandas_nor_pyarrow_dataset(with_twin: Path, args: tuple[str, ...]) -> None:
    # the first `runs` builds the store's index (as the dashboard does); later ones read its parts with DuckDB
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", CHILD, *args, "--store", str(with_twin), "--twins"
                               if args[0] == "runs" else "--tags"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "80"})
        assert done.returncode == 0, done.stderr[-2000:]
    heavy = done.stderr.rsplit("HEAVY ", 1)[1].split()
    assert heavy == [], heavy

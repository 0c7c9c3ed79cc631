"""One bad shard (unreadable Parquet, a garbled envelope, a NaN from before validation refused it) is skipped with a
warning by ``report --html`` and the dashboard; it never takes the whole store's views down."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.dashboard.server import make_app, warm
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import ViewSource, run_list
from tests.fixtures.make_runs import noisy_trials, put_speed_run


def spoil(root: Path, how: str) -> str:
    """Two stored runs; the later one spoiled ``how``. Returns the spoiled run's id."""
    store = Store(root)
    put_speed_run(store, model="m", hour=1, trials={"decode": noisy_trials(100.0, seed=1)})
    put_speed_run(store, model="m", hour=2, trials={"decode": noisy_trials(90.0, seed=2)})
    bad_id = sorted(store.run_ids())[-1]
    bad = root / "runs" / bad_id
    if how == "nan":
        envelope = json.loads((bad / "envelope.json").read_text())
        envelope["results"][0]["value"] = float("nan")
        (bad / "envelope.json").write_text(json.dumps(envelope))
        table = pq.read_table(bad / "results.parquet")
        column = table.schema.get_field_index("value")
        table = table.set_column(column, "value", pa.array([float("nan")] * table.num_rows))
        pq.write_table(table, bad / "results.parquet")
    elif how == "parquet":
        (bad / "results.parquet").write_bytes(b"PAR1 not parquet")
    else:
        (bad / "envelope.json").write_text('{"truncated')
    return bad_id


@pytest.mark.parametrize("how", ["nan", "parquet", "envelope"])
def test_report_skips_a_bad_shard_with_a_warning(tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    bad_id = spoil(tmp_path / "store", how)
    out = tmp_path / "report.html"
    assert main(["report", "--html", str(out), "--store", str(tmp_path / "store")]) == 0
    captured = capsys.readouterr()
    assert f"warning: skipped shard {bad_id}" in captured.err and captured.err.count("\n") == 1
    # the index leaves a shard it cannot read (or that holds NaN) out; a garbled envelope only loses its details
    assert f"{2 if how == 'envelope' else 1} runs" in " ".join(captured.out.split())
    assert out.stat().st_size > 10_000 and "report-data" in out.read_text(encoding="utf-8")  # a whole page, not a stub


@pytest.mark.parametrize("how", ["nan", "parquet"])
def test_dashboard_views_leave_the_bad_shard_out(tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    bad_id = spoil(tmp_path, how)
    source = ViewSource(Store(tmp_path))
    runs = run_list(source)
    assert [r["run_id"] for r in runs["runs"]] != [] and bad_id not in {r["run_id"] for r in runs["runs"]}
    assert bad_id in source.skipped
    warm(make_app(Store(tmp_path)))
    assert f"warning: skipped shard {bad_id}" in capsys.readouterr().err

"""Two real throughput runs on loopback at 8 and at 16 generated tokens: compare never pairs their cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.store import Store

QUICK = ["--git-sha", "abcdef0", "--no-client-check", "--prompt-lengths", "16", "--trials", "3", "--warmup", "0"]


def test_runs_at_8_and_16_generated_tokens_are_not_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store")
    with SpawnedCalibrationServer(ttft_ms=5, itl_ms=1) as server:
        for gen in ("8", "16", "16"):
            assert main(["run", "throughput", "--target", server.url, "--gen-tokens", gen, "--store", store, *QUICK]) == 0
    capsys.readouterr()
    runs = Store(tmp_path / "store")
    by_gen = sorted(runs.run_ids(), key=lambda run_id: runs.envelope(run_id)["gen_kwargs"]["max_gen_toks"])
    eight, sixteen, again = by_gen
    assert main(["compare", eight, sixteen, "--store", store]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tok_per_sec_16/throughput: gen_tokens 8 vs 16" in err
    # the same workload twice pairs, cell by cell, with the configuration the suite recorded
    assert main(["compare", sixteen, again, "--store", store, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["rows"]
    assert row["name"] == "tok_per_sec_16" and row["config"]["gen_tokens"] == "16"
    assert row["config"]["prompt_tokens"] == "16"

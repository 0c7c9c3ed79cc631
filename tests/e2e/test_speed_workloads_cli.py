"""The issue's main command, whole-CLI, against a calibration server with a set capacity (on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from tests.e2e.test_speed_cli import QUICK, stored


def test_dataset_sample_sweep_and_slo_store_the_knee_and_goodput(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # four slots; sample prompts ask for 48-384 tokens at 1 ms each after a 10 ms first token
    with SpawnedCalibrationServer(ttft_ms=10, itl_ms=1, capacity=4, prefix_cache=True) as server:
        code = main(["run", "throughput", "--target", server.url, "--dataset", "sample", "--dataset-limit", "8",
                     "--sweep", "--sweep-rates", "3", "--rate-requests", "12", "--max-concurrency", "8",
                     "--slo", "ttft_ms=1000", "--trials", "1", "--shared-prefix", "64",
                     "--store", str(tmp_path), *QUICK])
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    results = {r["name"]: r for r in envelope["results"]}
    knee, within = results["sweep_max_sustainable_rps"], results["sweep_max_rps_within_slo"]
    assert knee["unit"] == "req/s" and knee["tags"]["found"] == "true" and knee["value"] > 0
    assert within["tags"]["slo"] == "ttft_ms<=1000" and within["value"] <= knee["value"]
    assert any(n.startswith("sweep_rate_") and n.endswith("_goodput_req_per_sec") for n in results)
    cell = results["tok_per_sec_dataset"]
    assert cell["tags"]["dataset"] == "sample" and "input_tokens_p90" in cell["tags"]
    ratio = results["shared_prefix_ttft_ratio"]
    assert ratio["tags"]["shared_prefix_tokens"] == "64" and results["shared_prefix_ttft_ms"]["tags"][
        "prompt_tokens_cached"] != "unknown", "the server reports cached tokens and they are recorded"
    out = capsys.readouterr().out
    assert "sweep_max_sustainable_rps" in out


@pytest.mark.parametrize("flags", [["--slo", "fast"], ["--percentiles", "50,120"], ["--dataset", "/nope.jsonl"],
                                   ["--dataset-limit", "3"], ["--sweep-rates", "4"]])
def test_bad_workload_flags_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 flags: list[str]) -> None:
    code = main(["run", "throughput", "--target", "http://127.0.0.1:9/v1", *flags, "--store", str(tmp_path),
                 *QUICK])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flags[0] in err[0]
    assert stored(tmp_path) == []

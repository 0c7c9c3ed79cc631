"""llama-bench results over a filled context keep the depth in their name, so they never pair with depth 0."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare import compare_envelopes
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.importers import get_importer
from mlx_benchmarks.importers.common import ImportContext

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "llama_bench.json"
SYSTEM = {"os": "macOS 26.1", "chip": "Apple M4 Max", "memory_gb": 128}


def rows_at(*depths: int) -> list[dict[str, Any]]:
    """The fixture's tg128 row (decode at 128 tokens) once per depth, as ``llama-bench -n 128 -d 0,4096`` writes."""
    tg = next(row for row in json.loads(FIXTURE.read_text()) if row["n_gen"] and not row["n_prompt"])
    out = []
    for depth in depths:
        row = copy.deepcopy(tg)
        row["n_depth"] = depth
        row["avg_ts"] = tg["avg_ts"] / (1 + depth / 2048)  # attention over a longer context is slower
        out.append(row)
    return out


def convert(document: Any) -> dict[str, Any]:
    context = ImportContext(source="bench.json", suite="throughput", model="smollm2", git_sha="abc1234", system=SYSTEM)
    return get_importer("llama-bench")(document, context).validated()


def test_tg128_at_depth_0_and_4096_get_different_names() -> None:
    envelope = convert(rows_at(0, 4096))
    [plain, deep] = envelope["results"]
    assert (plain["name"], deep["name"]) == ("tg128", "tg128@d4096")
    assert (plain["tags"]["depth"], deep["tags"]["depth"]) == ("0", "4096")
    assert plain["value"] > deep["value"]


def test_depth_runs_never_pair_with_plain_ones() -> None:
    plain, deep = convert(rows_at(0)), convert(rows_at(4096))
    comparison = compare_envelopes(plain, deep)
    assert comparison.rows == [] and comparison.only_a == ["tg128/throughput"]
    assert comparison.only_b == ["tg128@d4096/throughput"]
    assert len(compare_envelopes(deep, convert(rows_at(4096))).rows) == 1


def test_a_row_without_n_depth_is_depth_0() -> None:
    [row] = rows_at(0)
    del row["n_depth"]  # llama-bench builds before -d existed
    [result] = convert([row])["results"]
    assert result["name"] == "tg128" and result["tags"]["depth"] == "0"


@pytest.mark.parametrize("bad", [-1, "4096", 1.5, True])
def test_a_depth_that_is_not_a_token_count_is_refused(bad: object) -> None:
    [row] = rows_at(0)
    row["n_depth"] = bad
    with pytest.raises(UsageError, match="n_depth"):
        convert([row])


def test_import_cli_keeps_the_depth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(rows_at(0, 512, 4096)))
    assert main(["import", "--kind", "llama-bench", str(path), "--suite", "throughput", "--model", "smollm2",
                 "--store", str(tmp_path / "store")]) == 0
    capsys.readouterr()
    assert main(["runs", "--json", "--store", str(tmp_path / "store")]) == 0
    [run] = json.loads(capsys.readouterr().out)
    envelope = json.loads((tmp_path / "store" / "runs" / run["id"] / "envelope.json").read_text())
    assert [r["name"] for r in envelope["results"]] == ["tg128", "tg128@d512", "tg128@d4096"]

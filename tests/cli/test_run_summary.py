"""The tables ``mlx-bench run`` prints, rendered at 80 and 200 columns and compared as text.

The envelopes are stored runs (calibration server, scripted tool server), so every shape the suites produce is
covered: the pp x tg grid, load levels (concurrency and rates), TTFT, quality, tool use and agent frameworks.
"""

from __future__ import annotations

import copy
import os
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from tests.cli.rendering import envelope, golden, rendered

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.cli.run_output import print_run_summary
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.store import Store
from mlx_benchmarks.views.run_summary import headline_of, num, summary_sections

FIXTURES = ("throughput_grid", "throughput_load", "ttft", "reasoning", "tool_calling", "tool_calling_gold",
            "framework_eval")


def summary(document: dict[str, Any], width: int) -> str:
    return rendered(lambda out: print_run_summary(out, document, "run-XYZ", True), width)


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("name", FIXTURES)
def test_summary_matches_the_expected_text(name: str, width: int) -> None:
    text = summary(envelope(name), width)
    assert text == golden(f"{name}.{width}.txt", text)
    assert max(len(line) for line in text.splitlines()) <= width


def test_throughput_grid_shows_every_cell_with_its_spread() -> None:
    grid = envelope("throughput_grid")
    text = summary(grid, 80)
    header = next(line for line in text.splitlines() if line.startswith("prompt"))
    assert re.split(r"\s{2,}", header.strip()) == ["prompt", "gen", "prompt tok/s", "decode tok/s", "TTFT ms", "peak MB"]
    rows = [line.split() for line in text.splitlines() if line.strip()[:3].isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("128", "32"), ("128", "64"), ("512", "32"), ("512", "64")]
    first = grid["results"][0]
    stdev = statistics.stdev(first["raw"]["trials"])
    assert rows[0][3:6] == [num(first["decode_tokens_per_second"]), "±", num(stdev)]
    assert rows[0][2] == num(first["prompt_tokens_per_second"]) and rows[0][6] == num(first["first_token_latency_ms"])


def test_mlx_peak_memory_gets_its_own_column_when_a_cell_has_it() -> None:
    grid = envelope("throughput_grid")
    assert "MLX peak MB" not in summary(grid, 80)
    for index, result in enumerate(grid["results"]):
        result["tags"]["mlx_peak_memory_mb"] = str(100.5 + index)
    text = summary(grid, 80)
    assert "MLX peak MB" in text
    assert [line.split()[-1] for line in text.splitlines() if line.strip()[:3].isdigit()] == \
        ["100", "102", "102", "104"]  # 100.5 .. 103.5 at no decimals, as the other memory figures


def test_load_levels_one_row_per_level_with_offered_rate_and_keeps_up() -> None:
    text = summary(envelope("throughput_load"), 80)
    rows = {line.split("  ")[0].strip(): line for line in text.splitlines() if line.startswith(("conc", "rate"))}
    assert list(rows) == ["conc 1", "conc 8", "rate 5", "rate 200"]
    assert "35.4 of 200" in rows["rate 200"] and rows["rate 200"].rstrip().endswith("NO")
    assert rows["rate 5"].rstrip().endswith("yes") and rows["conc 8"].rstrip().endswith("-")


def test_quality_and_tools_show_stderr_n_and_errors() -> None:
    reasoning = summary(envelope("reasoning"), 80)
    assert "gsm8k          exact_match_strict    0.0000 ± 0.0000  4       0" in reasoning
    tools = summary(envelope("tool_calling_gold"), 80)
    assert "simple       1.000 ± 0.000  1.00    1.00  3    0  -" in tools
    assert "macro accuracy 1.0000" in tools


def test_every_result_lands_in_one_table_and_the_envelope_is_not_changed() -> None:
    for name in FIXTURES:
        document = envelope(name)
        before = copy.deepcopy(document)
        sections = summary_sections(document)
        summary(document, 80)
        assert document == before
        assert "Other results" not in [s.title for s in sections], name
    unknown = {"suite": "throughput", "model": "m", "results": [{"name": "pp512", "metric": "throughput",
                                                                 "value": 9993.1, "unit": "tok/s"}]}
    assert [s.title for s in summary_sections(unknown)] == ["Other results"]


def test_errors_are_listed_and_capped() -> None:
    document = envelope("reasoning")
    document["errors"] = [f"gsm8k: sample {i} failed" for i in range(13)]
    text = summary(document, 80)
    assert text.count("error: gsm8k: sample") == 10 and "... and 3 more errors" in text


def test_the_readme_command_prints_the_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`mlx-bench run throughput` end to end on a loopback server with known timing, at 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    with SpawnedCalibrationServer(ttft_ms=20, itl_ms=5) as server:  # tokens 5 ms apart: each its own read
        code = main(["run", "throughput", "--target", server.url, "--store", str(tmp_path), "--git-sha", "abcdef0",
                     "--prompt-lengths", "32,64", "--gen-tokens", "8", "--trials", "2", "--warmup", "0",
                     "--no-client-check"])
    assert code == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("prompt"))
    assert re.split(r"\s{2,}", header.strip()) == ["prompt", "gen", "prompt tok/s", "decode tok/s", "TTFT ms",
                                                    "peak MB"]
    rows = [line.split() for line in out.splitlines() if line.strip()[:2].isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("32", "8"), ("64", "8")]
    tables = out[out.index("Throughput"):out.index("stored:")]  # the runner's own lines (run key) may be longer
    assert max(len(line) for line in tables.splitlines()) <= int(os.environ["COLUMNS"])
    (run_id,) = Store(tmp_path).run_ids()
    assert f"stored: {run_id}" in out


def test_imported_llama_bench_reads_as_llama_bench_prints_it(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "llama_bench.json"
    assert main(["import", "--kind", "llama-bench", str(source), "--suite", "throughput", "--model", "m",
                 "--store", str(tmp_path)]) == 0
    store = Store(tmp_path)
    (run_id,) = store.run_ids()
    text = summary(store.envelope(run_id), 80)
    assert "llama-bench\ntest           t/s\n" in text
    assert "pp512  9,993 ± 158\ntg128      311 ± 3\n" in text


@pytest.mark.parametrize(("suite", "results", "expected"), [
    ("throughput", [("tok_per_sec_128", 498.2, "tok/s"), ("tok_per_sec_512", 535.0, "tok/s")], "tg 498–535 tok/s"),
    ("throughput", [("pp512", 9993.0, "tok/s"), ("tg128@d4096", 310.7, "tok/s")], "tg128@d4096 311 tok/s"),
    ("throughput", [("tg128", 310.7, "tok/s")], "tg128 311 tok/s"),
    ("ttft", [("ttft_ms_128_cold", 40.1, "ms"), ("ttft_ms_128_p50", 27.61, "ms")], "TTFT p50 27.6 ms"),
    ("reasoning", [("gsm8k", 0.8, "ratio")], "gsm8k 0.800"),
    ("reasoning", [("gsm8k", 0.8, "ratio"), ("arc_challenge", 0.5, "ratio")], "mean 0.650 (2 tasks)"),
    ("tool-calling", [("simple", 1.0, "ratio"), ("overall", 0.25, "ratio")], "overall 0.250"),
    ("throughput", [], "-"),
])
def test_headline_of_a_run(suite: str, results: list[tuple[str, float, str]], expected: str) -> None:
    rows = [{"name": name, "metric": "m", "value": value, "unit": unit, "tags": {}} for name, value, unit in results]
    assert headline_of(suite, rows) == expected

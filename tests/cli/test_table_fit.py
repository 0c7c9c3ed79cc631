"""Tables fit the terminal without breaking a number (#20): a load-level table of large latencies printed
"3,058/4,52" and "1" on two lines at 80 columns. Now numbers stay whole and, where a table cannot fit, the
columns of lowest priority leave and a note names them."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from tests.cli.rendering import envelope, rendered

from mlx_benchmarks.cli.formats import print_sections
from mlx_benchmarks.views.run_summary import summary_sections

LEVEL_LATENCY = re.compile(r"_(ttft|itl|tpot|e2e)_p\d+_ms$")


def slow_levels() -> dict[str, Any]:
    """The stored load-level run with every latency x 100 (a loaded server): p50/p99 cells like 3,058/4,521."""
    document = copy.deepcopy(envelope("throughput_load"))
    for result in document["results"]:
        if LEVEL_LATENCY.search(result["name"]):
            result["value"] = result["value"] * 107.3
    return document


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("name", ["slow_levels", "throughput_grid", "ttft", "reasoning", "tool_calling",
                                  "framework_eval"])
def test_every_cell_stays_whole_and_every_line_fits(name: str, width: int) -> None:
    document = slow_levels() if name == "slow_levels" else envelope(name)
    sections = summary_sections(document)
    text = rendered(lambda out: print_sections(out, sections), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for section in sections:
        shown = rendered(lambda out, s=section: print_sections(out, [s]), width)
        note = re.sub(r"\s+", " ", shown).split(f"not shown at {width} columns: ")  # the note may wrap
        dropped = note[1].split(" (a wider")[0].split(", ") if len(note) > 1 else []
        for row in section.rows:
            for column, cell in zip(section.columns, row, strict=True):
                if column.replace("\n", " ") in dropped:
                    continue  # a column left out says so below its table
                if re.fullmatch(r"[-0-9.,/±% ]+", cell) and any(c.isdigit() for c in cell):
                    assert any(cell in line for line in shown.splitlines()), f"{cell!r} broken at {width}"


def test_a_table_too_wide_drops_its_last_columns_and_says_so() -> None:
    sections = [s for s in summary_sections(slow_levels()) if s.title == "Load levels"]
    text = rendered(lambda out: print_sections(out, sections), 60)
    assert "not shown at 60 columns:" in text
    note = re.sub(r"\s+", " ", text).split("not shown at 60 columns: ")[1].split(" (")[0]
    header = "\n".join(text.splitlines()[:3])
    for column in note.split(", "):
        assert column.split()[0] not in header  # gone from the table ...
        assert column in [c.replace("\n", " ") for c in sections[0].columns]  # ... and named under it
    wide = rendered(lambda out: print_sections(out, sections), 120)
    assert "not shown" not in wide and "3,0" in wide
    assert "TPOT" not in header and "keeps" in header  # the lowest priority leaves first


def test_a_stored_id_too_long_for_its_line_gets_a_line_of_its_own() -> None:
    from mlx_benchmarks.cli.run_output import print_run_summary

    long_id = "run-20261130T054441-7255f77ca267-throughput-mlx-community-qwen3-coder-30b-a3b-instruct-4bit-c763e7c0"
    text = rendered(lambda out: print_run_summary(out, envelope("ttft"), long_id, True), 80)
    assert f"stored:\n{long_id}\n" in text  # whole, on one line, never cut in the middle
    short = rendered(lambda out: print_run_summary(out, envelope("ttft"), "run-XYZ", True), 80)
    assert "stored: run-XYZ\n" in short

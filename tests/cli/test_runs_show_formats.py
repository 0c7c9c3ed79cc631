"""``runs``, ``show`` and ``datasets list`` at 80 and 200 columns, and their ``--format`` variants parsed back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli.rendering import envelope, golden

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.store import Store
from mlx_benchmarks.views.runs_listing import MIN_SHORT_ID, short_ids

STORED = ("throughput_grid", "throughput_load", "ttft", "reasoning", "tool_calling_gold", "framework_eval")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Six real runs of six suites."""
    s = Store(tmp_path / "store")
    for name in STORED:
        s.put(envelope(name))
    return tmp_path / "store"


@pytest.fixture
def twins(store: Path) -> Path:
    """The same store plus a second reasoning run stored in the same second as the first."""
    twin = envelope("reasoning")
    twin["model"] = "other-model"
    Store(store).put(twin)
    return store


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str,
        width: int = 80) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", str(width))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, "\n".join(line.rstrip() for line in captured.out.splitlines()) + "\n", captured.err


def md_tables(text: str) -> list[list[list[str]]]:
    """Each pipe table's rows of cells; asserts every row has its header's number of cells."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith(" |")
            cells = [cell.strip() for cell in line[2:-2].split(" | ")]
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(cells)
            assert len(cells) == len(tables[-1][0]), line
        previous = line
    for table in tables:
        assert set("".join(table[1])) <= set("-:")  # the alignment row
    return tables


def md_rows(text: str) -> list[list[str]]:
    """The rows of a text holding one pipe table."""
    (table,) = md_tables(text)
    return table


@pytest.mark.parametrize("width", [80, 120, 200])
def test_runs_table_matches_the_expected_text(store: Path, width: int, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(capsys, monkeypatch, "runs", "--store", str(store), width=width)
    assert code == 0
    assert out == golden(f"runs.{width}.txt", out)
    assert max(len(line) for line in out.splitlines()) <= width


def test_short_ids_are_unique_prefixes_every_command_accepts(twins: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = twins
    _, out, _ = cli(capsys, monkeypatch, "runs", "--json", "--store", str(store))
    listed = json.loads(out)
    ids = [row["id"] for row in listed]
    shorts = [row["short_id"] for row in listed]
    assert len(set(shorts)) == len(shorts) == 7
    assert all(full.startswith(short) and len(short) >= MIN_SHORT_ID for full, short in zip(ids, shorts, strict=True))
    twins = [row["short_id"] for row in listed if row["suite"] == "reasoning"]
    assert all(len(short) > MIN_SHORT_ID for short in twins)  # same second: longer, still unique
    for full, short in zip(ids, shorts, strict=True):
        assert Store(store).resolve(short) == full
    code, shown, _ = cli(capsys, monkeypatch, "show", twins[0], "--format", "json", "--store", str(store))
    assert code == 0 and json.loads(shown)["suite"] == "reasoning"
    _, wide, _ = cli(capsys, monkeypatch, "runs", "--store", str(store), width=200)
    assert all(short in wide for short in shorts)
    _, narrow, _ = cli(capsys, monkeypatch, "runs", "--store", str(store), width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    folded = "".join(line.split()[0] for line in narrow.splitlines()[3:-1] if line[:1] not in (" ", ""))
    assert all(short in folded for short in shorts)  # a long id wraps in its column, never cut


def test_runs_rows_carry_a_headline_and_key_parameters(store: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = cli(capsys, monkeypatch, "runs", "--json", "--store", str(store))
    by_suite: dict[str, dict[str, Any]] = {}
    for row in json.loads(out):  # newest first: keep each suite's newest
        by_suite.setdefault(row["suite"], row)
    assert by_suite["throughput"]["headline"] == "tg 501 tok/s"  # the newest throughput run: one cell
    assert by_suite["throughput"]["parameters"] == "pp 128 tg 32, c 1,8, rate 5,200"
    assert by_suite["ttft"]["parameters"] == "pp 128,512"
    assert by_suite["tool-calling"]["headline"] == "overall 1.000"
    assert by_suite["framework-eval"]["parameters"] == "limit 2, steps 8, max 512 tok"
    assert by_suite["reasoning"]["headline"] == "mean 0.000 (2 tasks)"


def test_runs_formats_parse(store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, as_json, _ = cli(capsys, monkeypatch, "runs", "--format", "json", "--store", str(store))
    _, legacy, _ = cli(capsys, monkeypatch, "runs", "--json", "--store", str(store))
    assert json.loads(as_json) == json.loads(legacy)
    _, as_csv, _ = cli(capsys, monkeypatch, "runs", "--format", "csv", "--store", str(store))
    records = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["id"] for r in records] == [r["id"] for r in json.loads(as_json)]
    assert {"short_id", "headline", "parameters", "timestamp"} <= set(records[0])
    _, as_md, _ = cli(capsys, monkeypatch, "runs", "--format", "md", "--store", str(store))
    rows = md_rows(as_md)
    assert rows[0] == ["id", "suite", "model", "headline", "parameters"]
    assert len(rows) == 2 + 6


def test_json_and_another_format_is_a_usage_error(store: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = cli(capsys, monkeypatch, "runs", "--json", "--format", "csv", "--store", str(store))
    assert code == 2 and err.count("\n") == 1 and "--json and --format csv" in err


@pytest.mark.parametrize("width", [80, 120, 200])
def test_show_groups_results_and_folds_tags(store: Path, width: int, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = Store(store).resolve("run-20261130T054446")
    code, out, _ = cli(capsys, monkeypatch, "show", "run-20261130T054446", "--store", str(store), width=width)
    assert code == 0
    assert out == golden(f"show.{width}.txt", out.replace(run_id, "RUN_ID")).replace("RUN_ID", run_id)
    assert "clock" not in out and "add --tags" in out
    _, tagged, _ = cli(capsys, monkeypatch, "show", "run-20261130T054446", "--tags", "--store", str(store), width=width)
    assert "Tags on every result" in tagged and "Tags per result" in tagged and "keeps_up=false" in tagged
    assert max(len(line) for line in tagged.splitlines()) <= max(width, len(run_id))


def test_show_formats_parse(store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stored: dict[str, Any] = envelope("throughput_load")
    _, as_json, _ = cli(capsys, monkeypatch, "show", "run-20261130T054446", "--format", "json", "--store", str(store))
    assert json.loads(as_json) == stored
    _, as_csv, _ = cli(capsys, monkeypatch, "show", "run-20261130T054446", "--format", "csv", "--store", str(store))
    records = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["name"] for r in records] == [r["name"] for r in stored["results"]]
    assert records[-1]["tag_keeps_up"] == "false" and float(records[0]["value"]) == stored["results"][0]["value"]
    _, as_md, _ = cli(capsys, monkeypatch, "show", "run-20261130T054446", "--format", "md", "--tags",
                      "--store", str(store))
    assert "### Throughput" in as_md and "### Load levels" in as_md and "### Tags per result" in as_md
    tables = md_tables(as_md)
    assert [table[0][:2] for table in tables] == [["prompt", "gen"], ["load", "req/s"], ["tag", "value"],
                                                 ["result", "tags"]]
    assert len(tables[1]) == 2 + 4  # header, alignment, four load levels


def test_datasets_list_one_line_per_dataset_and_formats(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, as_json, _ = cli(capsys, monkeypatch, "datasets", "list", "--format", "json")
    datasets = json.loads(as_json)
    for width in (80, 200):
        code, out, _ = cli(capsys, monkeypatch, "datasets", "list", width=width)
        assert code == 0 and max(len(line) for line in out.splitlines()) <= width
        body = [line for line in out.splitlines()[3:] if not line.startswith("  ")]
        assert [line.split()[0] for line in body] == [d["name"] for d in datasets]  # one line each
    _, as_csv, _ = cli(capsys, monkeypatch, "datasets", "list", "--format", "csv")
    assert [r["name"] for r in csv.DictReader(io.StringIO(as_csv))] == [d["name"] for d in datasets]
    _, as_md, _ = cli(capsys, monkeypatch, "datasets", "list", "--format", "md")
    rows = md_rows(as_md)
    assert rows[0] == ["name", "count", "cached", "tasks", "licence", "sha256", "source"]
    assert len(rows) == 2 + len(datasets)
    assert {row[6] for row in rows[2:]} == {d["source"].replace("|", "\\|") for d in datasets}  # whole sources


def test_short_ids_of_ids_that_share_everything_but_the_end() -> None:
    ids = ["run-20261130T054441-aaa", "run-20261130T054441-aab", "run-20261130T054442-x"]
    assert short_ids(ids) == {"run-20261130T054441-aaa": "run-20261130T054441-aaa",
                              "run-20261130T054441-aab": "run-20261130T054441-aab",
                              "run-20261130T054442-x": "run-20261130T054442"}


def test_an_empty_store_lists_nothing_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    empty = str(tmp_path / "empty")
    assert json.loads(cli(capsys, monkeypatch, "runs", "--json", "--store", empty)[1]) == []
    header = next(csv.reader(io.StringIO(cli(capsys, monkeypatch, "runs", "--format", "csv", "--store", empty)[1])))
    assert header[:4] == ["id", "timestamp", "suite", "model"]
    assert md_rows(cli(capsys, monkeypatch, "runs", "--format", "md", "--store", empty)[1])[2:] == []
    code, table, _ = cli(capsys, monkeypatch, "runs", "--store", empty)
    assert code == 0 and table.startswith("0 runs")


def test_since_and_limit_choose_the_newest_runs(store: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def listed(*flags: str) -> list[str]:
        return [row["suite"] for row in json.loads(cli(capsys, monkeypatch, "runs", "--json", *flags,
                                                       "--store", str(store))[1])]

    assert listed() == ["tool-calling", "framework-eval", "reasoning", "ttft", "throughput", "throughput"]
    assert listed("--since", "2026-11-30T05:50:00Z") == ["tool-calling", "framework-eval"]
    assert listed("--since", "2026-11-30T05:44:59Z", "--limit", "3") == ["tool-calling", "framework-eval",
                                                                         "reasoning"]
    assert listed("--suite", "throughput", "--limit", "1") == ["throughput"]
    assert listed("--model", "SCRIPTED") == ["tool-calling", "framework-eval"]
    code, _, err = cli(capsys, monkeypatch, "runs", "--limit", "0", "--store", str(store))
    assert code == 2 and "--limit must be at least 1" in err


def test_the_views_package_names_stay_functions_after_its_modules_load() -> None:
    # a submodule named like a lazily exported function (views.run_list) would replace the function as
    # soon as it was imported, and `report` after `runs` in one process called a module
    import mlx_benchmarks.views as views
    import mlx_benchmarks.views.runs_listing  # noqa: F401
    from mlx_benchmarks.views.queries import run_list

    for name in views.__all__:
        assert not isinstance(getattr(views, name), type(views)), name
    assert views.run_list is run_list

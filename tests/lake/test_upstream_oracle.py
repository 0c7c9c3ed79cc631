"""The seed project's own publisher and viewer as the oracle for our flat-layout writer and reader.

tests/fixtures/upstream_oracle/ holds what scripts/upstream_oracle.py made with the seed's code (commit in
its manifest.json): the seed publisher's files for our envelopes (envelopes/, every suite, imports and the
log-likelihood scoring), for its own example and its converters' output, and its first publisher's file;
and what its viewer (``load_data``, ``bar_chart``, ``trend_chart``, ``summary_table``) showed for its files
and for ours. Where the seed's code is beside the checkout (``../shared/upstream``), the oracle also runs live.
"""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scripts.upstream_oracle import content_digest
from tests.lake.fake_hub import FakeHubServer

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import JSON, validate
from mlx_benchmarks.lake.history import open_read_store
from mlx_benchmarks.lake.upstream import (
    file_stem,
    seed_timestamp,
    upstream_file,
    upstream_rows,
    upstream_table,
)
from mlx_benchmarks.lake.upstream_read import read_upstream
from mlx_benchmarks.lake.upstream_store import UpstreamStore

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "upstream_oracle"
MANIFEST: JSON = json.loads((FIXTURES / "manifest.json").read_text())
UPSTREAM = ROOT.parent / "shared" / "upstream"
LIVE = (UPSTREAM / "space" / "app.py").is_file() and (UPSTREAM / "COMMIT").is_file()


def ours(name: str) -> JSON:
    envelope: JSON = json.loads((FIXTURES / "envelopes" / f"{name}.json").read_text())
    return envelope


def all_envelopes() -> dict[str, JSON]:
    """Every envelope the oracle saw: ours, and the seed's example and converted runs."""
    out = {name: ours(name) for name in MANIFEST["ours"]}
    out.update({name: entry["envelope"] for name, entry in MANIFEST["converted"].items()})
    return out


def seed_table(entry: JSON) -> pa.Table:
    return pq.read_table(FIXTURES / "seed" / entry["seed_file"])


def carried(envelope: JSON, columns: list[str]) -> JSON:
    """What a seed publisher's file (its ``columns``) can hold of ``envelope``: nothing more comes back."""
    out: JSON = {k: envelope[k] for k in ("schema_version", "git_sha", "trigger", "suite", "model") if k in envelope}
    out["timestamp"] = seed_timestamp(envelope["timestamp"])
    out.update({k: envelope[k] for k in ("model_revision", "quantization", "seed") if k in envelope})
    out["system"] = {k: envelope["system"][k] for k in ("os", "chip", "memory_gb")}
    results = []
    for result in envelope["results"]:
        kept = {k: result[k] for k in ("name", "metric", "value", "unit")}
        if "duration_seconds" in result and "duration_seconds" in columns:
            kept["duration_seconds"] = result["duration_seconds"]
        tags = {k: v for k, v in result.get("tags", {}).items() if f"tag_{k}" in columns}
        if tags:
            kept["tags"] = tags
        results.append(kept)
    out["results"] = results
    return out


def test_the_fixtures_cover_every_suite_and_record_the_seed_commit() -> None:
    suites = {ours(name)["suite"] for name in MANIFEST["ours"]}
    assert suites == {"throughput", "ttft", "reasoning", "knowledge", "math-hard", "coding", "code-accuracy",
                      "evalplus", "tool-calling", "framework-eval", "capability-comparison"}
    assert {"loglikelihood", "import_lm_eval", "import_vllm", "import_llama_bench"} <= set(MANIFEST["ours"])
    assert len(MANIFEST["upstream_commit"]) == 40
    if LIVE:
        assert (UPSTREAM / "COMMIT").read_text().strip() == MANIFEST["upstream_commit"]


@pytest.mark.parametrize("name", sorted(MANIFEST["ours"]) + sorted(MANIFEST["converted"]))
def test_our_rows_are_the_seed_publishers_column_by_column(name: str) -> None:
    envelope = all_envelopes()[name]
    entry = MANIFEST["ours"].get(name) or MANIFEST["converted"][name]
    theirs = seed_table(entry)
    rows, order = upstream_rows(envelope)
    mine = upstream_table(rows, order)
    assert mine.column_names[: theirs.num_columns] == theirs.column_names  # theirs first, in their order
    assert mine.num_rows == theirs.num_rows
    for column in theirs.column_names:
        assert mine.schema.field(column).type == theirs.schema.field(column).type, column
        assert mine.column(column).to_pylist() == theirs.column(column).to_pylist(), column
    name_ours = upstream_file(envelope)[0]
    # the seed's target_path of the envelope as it is (fractional seconds too), before the hash
    assert "data/" + name_ours.removesuffix(".parquet")[:-9] == entry.get("stem", "data/" + file_stem(envelope))
    assert name_ours.startswith(file_stem(envelope) + "-")


@pytest.mark.parametrize("name", sorted(MANIFEST["converted"]))
def test_with_nothing_beyond_the_seed_layout_our_file_is_the_seed_publishers_byte_for_byte(name: str) -> None:
    if pa.__version__ != MANIFEST["versions"]["pyarrow"]:
        pytest.skip(f"the fixtures were written by pyarrow {MANIFEST['versions']['pyarrow']}; bytes differ across versions")
    envelope = copy.deepcopy(MANIFEST["converted"][name]["envelope"])
    for key in ("errors", "gen_kwargs", "pr_number"):  # fields the seed's rows do not carry
        envelope.pop(key, None)
    envelope["system"] = {k: envelope["system"][k] for k in ("os", "chip", "memory_gb")}
    file_name, data = upstream_file(envelope)
    assert data == (FIXTURES / "seed" / MANIFEST["converted"][name]["seed_file"]).read_bytes()
    assert f"data/{file_name}" == MANIFEST["converted"][name]["seed_file"]  # and so the seed's target_path


def test_our_reader_rebuilds_every_file_the_seed_publisher_wrote() -> None:
    store = UpstreamStore(str(FIXTURES / "seed"))
    assert store.skipped == {}
    seen = set()
    for name, envelope in all_envelopes().items():
        entry = MANIFEST["ours"].get(name) or MANIFEST["converted"][name]
        run_id = Path(entry["seed_file"]).stem
        back = store.envelope(run_id)
        validate(back)
        assert back == carried(envelope, seed_table(entry).column_names), name
        seen.add(run_id)
    assert set(store.run_ids()) == seen
    legacy = MANIFEST["legacy"]  # the first publisher (scripts/publish_run.py): no hash, no validation
    back = read_upstream((FIXTURES / "seed" / "legacy" / legacy["seed_file"]).read_bytes())
    assert back == carried(legacy["envelope"], pq.read_table(FIXTURES / "seed" / "legacy" / legacy["seed_file"]).column_names)


def test_a_seed_file_rewritten_by_pandas_reads_back_the_same(tmp_path: Path) -> None:
    """Timestamp as a Parquet timestamp, memory_gb as float, NaN for missing numbers, an optional column gone."""
    pd = pytest.importorskip("pandas")
    entry = MANIFEST["converted"]["seed_lm_eval"]
    expected = read_upstream((FIXTURES / "seed" / entry["seed_file"]).read_bytes())
    frame = pd.read_parquet(FIXTURES / "seed" / entry["seed_file"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["memory_gb"] = frame["memory_gb"].astype(float)
    frame["duration_seconds"] = float("nan")  # a missing number, as a dataframe writes it
    frame = frame.drop(columns=["seed"], errors="ignore")
    frame.to_parquet(tmp_path / "f.parquet")
    assert pq.read_table(tmp_path / "f.parquet").schema.field("timestamp").type != pa.string()
    back = read_upstream((tmp_path / "f.parquet").read_bytes())
    for result in expected["results"]:
        result.pop("duration_seconds", None)
    expected.pop("seed", None)
    assert back == expected


def test_runs_show_compare_trend_report_on_the_seed_publishers_files(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(FIXTURES / "seed")
    assert main(["runs", "--store", folder, "--json", "--twins"]) == 0  # every file, the twins too
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == len(MANIFEST["ours"]) + len(MANIFEST["converted"])
    gold, wrong = (Path(MANIFEST["ours"][n]["seed_file"]).stem for n in ("capability_comparison", "capability_comparison_1"))
    assert main(["show", gold, "--store", folder, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    original = ours("capability_comparison")
    assert shown["system"] == {k: original["system"][k] for k in ("os", "chip", "memory_gb")}
    assert [r["value"] for r in shown["results"]] == [r["value"] for r in original["results"]]
    assert main(["compare", gold, wrong, "--store", folder, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {(row["a"], row["b"]) for row in rows} == {(1.0, 0.0)}  # the gold answers against the wrong ones
    assert {row["verdict"] for row in rows} == {"no error bars"}  # no per-sample scores in the flat layout
    assert main(["trend", "--store", folder, "--json"]) == 0
    capsys.readouterr()
    assert main(["report", "--store", folder, "--html", str(tmp_path / "r.html")]) == 0
    assert "gold-answer-double" in (tmp_path / "r.html").read_text()


def test_their_files_and_ours_in_one_folder_read_as_one_history(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's files, our flat files of the same runs (equal envelopes: listed once) and our shards."""
    from mlx_benchmarks.store import Store

    folder = tmp_path / "both"
    (folder / "data").mkdir(parents=True)
    for entry in MANIFEST["converted"].values():
        (folder / entry["seed_file"]).write_bytes((FIXTURES / "seed" / entry["seed_file"]).read_bytes())
    seed_runs = [read_upstream((FIXTURES / "seed" / e["seed_file"]).read_bytes()) for e in MANIFEST["converted"].values()]
    for envelope in seed_runs:  # the same runs as our writer writes them: one run each, not two
        name, data = upstream_file(envelope)
        (folder / "data" / name).write_bytes(data)
    Store(folder).put(ours("knowledge"))
    Store(folder).put(seed_runs[0])  # also stored as our shard
    store = open_read_store(str(folder))
    assert type(store).__name__ == "MergedStore"
    envelopes = [store.envelope(run_id) for run_id in store.run_ids()]
    assert len(envelopes) == len(seed_runs) + 1
    assert sorted(e["model"] for e in envelopes) == sorted([*(e["model"] for e in seed_runs), ours("knowledge")["model"]])
    assert main(["runs", "--store", str(folder), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(envelopes)


def test_our_files_in_the_seed_viewer_show_what_the_seed_publishers_files_show() -> None:
    """The committed viewer outputs: for our files and for the seed's, the same rows (ours may hold more,
    where the seed's publisher dropped a tag or duration no first row had), the same charts and tables;
    and today's writer still writes the very files the viewer read."""
    seed = json.loads((FIXTURES / "viewer_seed.json").read_text())
    mine = json.loads((FIXTURES / "viewer_ours.json").read_text())
    assert_same_view(seed, mine)
    for name, envelope in all_envelopes().items():
        assert content_digest(upstream_file(envelope)[1]) == MANIFEST["ours_content"][name], (
            f"{name}: our writer changed since the oracle ran; rerun scripts/upstream_oracle.py")
    mixed = json.loads((FIXTURES / "viewer_mixed.json").read_text())
    assert "doesn't match format" in mixed["error"]  # why our timestamp column has whole seconds


def assert_same_view(seed: JSON, mine: JSON) -> None:
    assert "error" not in seed and "error" not in mine
    assert set(seed["columns"]) <= set(mine["columns"])
    for column in ("timestamp", "suite", "name", "metric", "model", "value", "model_short", "os", "chip", "memory_gb"):
        assert mine["dtypes"][column] == seed["dtypes"][column], column
    unmatched = list(mine["rows"])
    for row in seed["rows"]:
        match = next((i for i, other in enumerate(unmatched) if row.items() <= other.items()), None)
        assert match is not None, f"no row of ours holds {row}"
        unmatched.pop(match)
    assert unmatched == []
    assert mine["bar"] == seed["bar"]
    assert mine["trend"] == seed["trend"]
    assert mine["summary"] == seed["summary"]


@pytest.mark.slow
@pytest.mark.skipif(not LIVE, reason="the seed's code is not beside the checkout (../shared/upstream)")
def test_live_the_seed_viewer_reads_todays_files_as_it_reads_its_own(tmp_path: Path) -> None:
    for envelope in all_envelopes().values():
        file_name, data = upstream_file(envelope)
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / file_name).write_bytes(data)
    out = tmp_path / "viewer.json"
    env = {**os.environ, "PYTHONPATH": str(UPSTREAM / "src")}
    env.pop("HF_TOKEN", None)
    script = ROOT / "scripts" / "upstream_oracle.py"
    subprocess.run([sys.executable, str(script), "--worker", "--upstream", str(UPSTREAM), "view", str(tmp_path), str(out)],
                   env=env, check=True, timeout=300, cwd=tmp_path)
    assert_same_view(json.loads((FIXTURES / "viewer_seed.json").read_text()), json.loads(out.read_text()))


@pytest.mark.slow
@pytest.mark.skipif(not LIVE, reason="the seed's code is not beside the checkout (../shared/upstream)")
def test_live_the_seed_publisher_still_writes_the_committed_files(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(UPSTREAM / "src")}
    script = ROOT / "scripts" / "upstream_oracle.py"
    subprocess.run([sys.executable, str(script), "--worker", "--upstream", str(UPSTREAM), "publish",
                    str(FIXTURES / "envelopes"), str(tmp_path)], env=env, check=True, timeout=300, cwd=tmp_path)
    made = json.loads((tmp_path / "seed" / "manifest.json").read_text())
    same_writer = pa.__version__ == MANIFEST["versions"]["pyarrow"]
    for name, entry in made["ours"].items():
        committed = MANIFEST["ours"][name]["seed_file"]
        # the name ends in a hash of the bytes, which carry the pyarrow version
        assert entry["seed_file"] == committed if same_writer else entry["seed_file"][:-17] == committed[:-17]
        theirs = pq.read_table(io.BytesIO((tmp_path / "seed" / entry["seed_file"]).read_bytes()))
        rows, order = upstream_rows(ours(name))
        assert upstream_table(rows, order).select(theirs.column_names).to_pylist() == theirs.to_pylist()


def seed_files() -> list[str]:
    """Every file the seed's publisher wrote for the fixtures, as ``data/<name>``."""
    return sorted(p.relative_to(FIXTURES / "seed").as_posix() for p in (FIXTURES / "seed" / "data").glob("*.parquet"))


def read_remote(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """runs, show and compare over a remote copy of the seed's files give what they give on the folder."""
    store = open_read_store(url)
    assert isinstance(store, UpstreamStore) and len(store.run_ids()) == len(seed_files())
    gold, wrong = (Path(MANIFEST["ours"][n]["seed_file"]).stem for n in ("capability_comparison", "capability_comparison_1"))
    results = {}
    for where in (url, str(FIXTURES / "seed")):
        assert main(["show", gold, "--store", where, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert main(["compare", gold, wrong, "--store", where, "--json"]) == 0
        results[where] = (shown["system"], shown["results"], json.loads(capsys.readouterr().out)["rows"])
    assert results[url] == results[str(FIXTURES / "seed")]


def test_the_seed_files_in_a_bucket_read_as_in_a_folder(bucket: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client, name = bucket
    for path in seed_files():
        client.put_object(Bucket=name, Key=f"seed/{path}", Body=(FIXTURES / "seed" / path).read_bytes())
    read_remote(f"s3://{name}/seed", capsys)


def test_the_seed_files_in_a_hub_dataset_read_as_in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    hub_root = tmp_path / "hub"
    for path in seed_files():
        (hub_root / path).parent.mkdir(parents=True, exist_ok=True)
        (hub_root / path).write_bytes((FIXTURES / "seed" / path).read_bytes())
    with FakeHubServer(hub_root, repo="JacobPEvans/mlx-benchmarks") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        read_remote("hf://datasets/JacobPEvans/mlx-benchmarks", capsys)


def test_the_dashboard_serves_the_seed_publishers_files() -> None:
    from mlx_benchmarks.dashboard import BackgroundServer
    from mlx_benchmarks.dashboard.server import make_app

    gold = Path(MANIFEST["ours"]["capability_comparison"]["seed_file"]).stem
    with BackgroundServer(make_app(open_read_store(str(FIXTURES / "seed")))) as server:
        with urllib.request.urlopen(f"{server.url}/api/runs", timeout=30) as response:
            runs = json.loads(response.read())
        with urllib.request.urlopen(f"{server.url}/api/runs/{urllib.parse.quote(gold)}", timeout=30) as response:
            detail = json.loads(response.read())
    listed = runs["runs"] if isinstance(runs, dict) else runs
    assert len(listed) == len(seed_files())
    assert detail["envelope"]["system"]["chip"] == ours("capability_comparison")["system"]["chip"]

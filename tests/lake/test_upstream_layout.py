"""The seed's flat layout (``data/run-….parquet``, one row per result) written by us and read back.

Fixtures: the schema's own example envelopes plus speed and quality runs from tests/fixtures/make_runs.
Destinations: a local folder, a real S3 API (moto's server on loopback) and the Hugging Face doubles.
The seed's own code as the oracle: test_upstream_oracle.py.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.fixtures.make_runs import noisy_trials, put_speed_run
from tests.lake.fake_hub import FakeHfApi, FakeHubServer

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import JSON, validate
from mlx_benchmarks.errors import StoreError
from mlx_benchmarks.lake.history import open_read_store
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.upstream import upstream_file, upstream_rows
from mlx_benchmarks.lake.upstream_publish import HfDataWriter, publish_upstream
from mlx_benchmarks.lake.upstream_read import envelope_from_rows
from mlx_benchmarks.lake.upstream_store import UpstreamStore
from mlx_benchmarks.store import Store

# the seed's target_path: timestamp with ':' as '-' and no Z, git_sha as given, suite, slug (<= 50), hash8
NAME = re.compile(r"^run-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?(\+00-00)?-[0-9a-fA-F]{7,64}-[a-z-]+-[a-z0-9-]{0,50}-[0-9a-f]{8}\.parquet$")
TOKEN = "hf_UpstreamTokenNeverPrinted0123456"
REPO = "acme/upstream-bench"


def schema_examples() -> list[JSON]:
    schema = json.loads(resources.files("mlx_benchmarks").joinpath("schema.json").read_text(encoding="utf-8"))
    examples: list[JSON] = schema["examples"]
    assert examples, "the seed schema has example envelopes"
    return examples


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Our store: the schema's examples, a skipped run, a run with every optional field, two speed runs."""
    store = Store(tmp_path / "ours")
    for example in schema_examples():
        store.put(example)
    full = copy.deepcopy(schema_examples()[0])
    full.update(
        timestamp="2026-04-25T09:00:00Z", git_sha="0123456789abcdef0123", suite="throughput", model="mlx-community/Full",
        model_revision="abc123", quantization="mlx-4bit", seed=7, pr_number=12, trigger="pr",
        memory_snapshots=[{"phase": "peak", "rss_gb": 5.5, "swap_mb": 0.0}], errors=["one warning"],
    )
    full["system"].update(runner="self-hosted", mlx_version="0.30.0", vllm_mlx_version="0.1")
    full["results"] = [
        {"name": "tok_per_sec_512", "metric": "throughput", "value": 41.5, "unit": "tok/s", "decode_tokens_per_second": 41.5,
         "first_token_latency_ms": 120.0, "peak_rss_mb": 5300.0, "tags": {"prompt_tokens": "512", "odd key/x": "1"},
         "raw": {"trials": [41.0, 41.5, 42.0]}},
        {"name": "ttft_512", "metric": "latency", "value": 120, "unit": "ms"},
    ]
    store.put(full)
    skipped = copy.deepcopy(schema_examples()[0])
    skipped.update(timestamp="2026-04-26T09:00:00Z", skipped=True, results=[], suite="ttft")
    store.put(skipped)
    put_speed_run(store, model="Qwen3-4B", hour=1, trials={"decode": noisy_trials(100, seed=1)})
    put_speed_run(store, model="Qwen3-4B", hour=2, trials={"decode": noisy_trials(80, seed=2)})
    return store


def speed_ids(store: Store) -> tuple[str, str]:
    a, b = sorted(rid for rid in store.run_ids() if "qwen3-4b" in rid)
    return a, b


def upstream_id(envelope: JSON) -> str:
    return upstream_file(envelope)[0].removesuffix(".parquet")


def assert_round_trip(store: Store, read: Any) -> None:
    expected = {upstream_id(store.envelope(rid)): store.envelope(rid) for rid in store.run_ids()}
    assert read.run_ids() == sorted(expected)
    for rid, original in expected.items():
        back = read.envelope(rid)
        validate(back)
        assert back == original


def test_rows_have_the_seed_columns_first_then_ours_and_rebuild_the_envelope() -> None:
    [example] = schema_examples()
    rows, order = upstream_rows(example)
    assert len(rows) == 1
    row = rows[0]
    assert (row["os"], row["chip"], row["memory_gb"]) == ("macOS 26.4.1", "Apple M4 Max", 128)
    assert row["tag_lm_eval_key"] == "exact_match,flexible-extract" and row["tag_n_limit"] == "10"
    assert json.loads(row["gen_kwargs"]) == {"max_gen_toks": 4096, "temperature": 0.0}
    assert row["errors"] == "[]" and "raw" not in row and row["duration_seconds"] == 123.4
    name, data = upstream_file(example)
    assert NAME.match(name) and name.startswith("run-2026-04-24T18-30-00-aaa3ff3-reasoning-mlx-community-qwen3-5-9b-mlx-4bit-")
    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == order
    assert order[:15] == ["schema_version", "timestamp", "git_sha", "trigger", "suite", "model", "os", "chip",
                          "memory_gb", "name", "metric", "value", "unit", "duration_seconds", "tag_lm_eval_key"]
    assert envelope_from_rows(table.to_pylist(), table.column_names) == example


def test_what_no_seed_column_can_say_comes_back() -> None:
    """Null pr_number, empty tags, integer values, raw of any JSON, tags only later results have."""
    [example] = schema_examples()
    envelope = copy.deepcopy(example)
    envelope.update(pr_number=None, timestamp="2026-04-24T18:30:00.123456+00:00", skipped=False)
    envelope["results"] = [
        {"name": "a", "metric": "m", "value": 3, "unit": "u", "tags": {}},
        {"name": "b", "metric": "m", "value": 4, "unit": "u", "raw": None, "tags": {"late": "x"}, "peak_rss_mb": 12},
        {"name": "c", "metric": "m", "value": 5, "unit": "u", "raw": [1, {"k": "v"}], "duration_seconds": 2.5},
    ]
    validate(envelope)
    rows, _ = upstream_rows(envelope)
    assert [r["timestamp"] for r in rows] == ["2026-04-24T18:30:00Z"] * 3  # as the seed's converters write it
    table = pq.read_table(io.BytesIO(upstream_file(envelope)[1]))
    assert table.schema.field("value").type == pa.int64()  # inferred, as the seed's Table.from_pylist does
    back = envelope_from_rows(table.to_pylist(), table.column_names)
    assert back == envelope and json.dumps(back, sort_keys=True) == json.dumps(envelope, sort_keys=True)


def test_a_malformed_file_is_a_store_error() -> None:
    [example] = schema_examples()
    rows, order = upstream_rows(example)
    rows[0]["gen_kwargs"] = "{not json"
    with pytest.raises(StoreError, match="column gen_kwargs"):
        envelope_from_rows(rows, order)
    with pytest.raises(StoreError, match="no rows"):
        envelope_from_rows([], order)
    rows, order = upstream_rows(example)
    del rows[0]["chip"]
    with pytest.raises(StoreError, match="chip"):  # nothing invented: a required field missing stays missing
        envelope_from_rows(rows, [c for c in order if c != "chip"])


def test_local_folder_round_trip_runs_show_compare(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "upstream"
    assert main(["publish", "--to", str(folder), "--layout", "upstream", "--store", str(store.root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = sorted(p.name for p in (folder / "data").iterdir())
    assert len(names) == len(store.run_ids()) == len(report["new"]) and all(NAME.match(n) for n in names)
    assert not (folder / "runs").exists()
    before = {n: (folder / "data" / n).stat().st_mtime_ns for n in names}

    assert main(["publish", "--to", str(folder), "--layout", "upstream", "--store", str(store.root)]) == 0
    assert f"published 0 new runs (0 files, 0.0 kB) to {folder}; {len(names)} already there" in " ".join(capsys.readouterr().out.split())
    assert {n: (folder / "data" / n).stat().st_mtime_ns for n in sorted(p.name for p in (folder / "data").iterdir())} == before

    assert_round_trip(store, UpstreamStore(str(folder)))
    a, b = (upstream_id(store.envelope(rid)) for rid in speed_ids(store))
    assert main(["runs", "--store", str(folder), "--json"]) == 0
    listed = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert sorted(listed) == sorted(before_name.removesuffix(".parquet") for before_name in names)
    assert main(["show", a[:32], "--store", str(folder), "--json"]) == 0
    assert "decode" in capsys.readouterr().out
    assert main(["compare", a, b, "--store", str(folder), "--json", "--fail-on-regression"]) == 5
    document = json.loads(capsys.readouterr().out)
    assert document["rows"][0]["verdict"] == "regressed" and document["rows"][0]["method"] == "bootstrap-median"


def test_running_into_an_upstream_folder_is_refused(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "upstream"
    publish_upstream(store, str(folder))
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "llama_bench.json"
    writers = (["run", "throughput"], ["import", "--kind", "llama-bench", str(fixture), "--suite", "throughput"],
               ["run", "capability-comparison", "--target", "http://127.0.0.1:9/v1", "--target", "http://127.0.0.1:8/v1"])
    for argv in writers:
        assert main([*argv, "--store", str(folder)]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "upstream layout" in err, argv
    assert not (folder / "runs").exists()


def test_s3_round_trip_and_republish_is_a_no_op(store: Store, bucket: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client, name = bucket
    url = f"s3://{name}/hist"
    assert main(["publish", "--to", url, "--layout", "upstream", "--store", str(store.root)]) == 0
    capsys.readouterr()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"])
    assert len(keys) == len(store.run_ids())
    assert all(k.startswith("hist/data/") and NAME.match(k.rsplit("/", 1)[-1]) for k in keys)
    report = publish_upstream(store, url)
    assert report.new == [] and len(report.present) == len(keys)
    assert sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]) == keys

    read = open_read_store(url)
    assert isinstance(read, UpstreamStore)
    assert_round_trip(store, read)
    a, b = (upstream_id(store.envelope(rid)) for rid in speed_ids(store))
    assert main(["runs", "--store", url, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(keys)
    assert main(["compare", a, b, "--store", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["verdict"] == "regressed"


def materialize(api: FakeHfApi, root: Path) -> None:
    """The hub's files after the commits made through ``api`` (operations carry bytes here)."""
    for commit in api.commits:
        for op in commit["operations"]:
            target = root / op.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            data = op.path_or_fileobj
            target.write_bytes(data if isinstance(data, bytes) else Path(data).read_bytes())


def test_hf_one_commit_then_read_over_http(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"hf://datasets/{REPO}"
    api = FakeHfApi(files=[".gitattributes", "README.md"])
    writer = HfDataWriter(parse_location(url), api=api, env={"HF_TOKEN": TOKEN})
    report = publish_upstream(store, url, writer=writer)
    assert len(api.commits) == 1 and len(report.new) == len(store.run_ids())
    paths = [op.path_in_repo for op in api.commits[0]["operations"]]
    assert all(p.startswith("data/") and NAME.match(p[len("data/") :]) for p in paths)
    assert publish_upstream(store, url, writer=writer).new == [] and len(api.commits) == 1

    materialize(api, tmp_path / "hub")
    with FakeHubServer(tmp_path / "hub", repo=REPO) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        read = open_read_store(url)
        assert isinstance(read, UpstreamStore)
        assert_round_trip(store, read)
        a, b = (upstream_id(store.envelope(rid)) for rid in speed_ids(store))
        assert main(["compare", a, b, "--store", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["method"] == "bootstrap-median"


def test_files_from_other_writers_read_back_and_a_bad_one_is_skipped_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Typed timestamp, float memory, our earlier column names: the envelope still rebuilds."""
    [example] = schema_examples()
    rows, _ = upstream_rows(example)
    for row in rows:
        row["timestamp"] = datetime(2026, 4, 24, 18, 30, tzinfo=UTC)
        row["system_memory_gb"] = float(row.pop("memory_gb"))  # our earlier files' name, a float
        row["result_index"] = 0
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data" / "run-x.parquet")
    (tmp_path / "data" / "run-y.parquet").write_bytes(b"not parquet")
    read = UpstreamStore(str(tmp_path))
    assert read.run_ids() == ["run-x"]
    assert read.envelope("run-x") == example
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run-y.parquet" in err[0] and "not readable Parquet" in err[0]
    assert list(read.skipped) == ["run-y.parquet"]


def test_refresh_sees_new_files_and_keeps_the_tables_otherwise(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "upstream"
    [first, *rest] = store.run_ids()
    partial = Store(tmp_path / "partial")
    partial.put(store.envelope(first))
    publish_upstream(partial, str(folder))
    read = UpstreamStore(str(folder))
    assert len(read.run_ids()) == 1
    tables = read.glob("run")
    read.refresh()
    assert read.glob("run") == tables  # nothing new: the derived tables are reused
    publish_upstream(store, str(folder))
    read.refresh()
    assert len(read.run_ids()) == 1 + len(rest)
    rows = read.connect().execute(f"SELECT count(*) FROM read_parquet('{read.glob('run')}')").fetchone()
    assert rows == (1 + len(rest),)


def test_the_same_run_in_two_files_is_listed_once(tmp_path: Path) -> None:
    """Another pyarrow writes other bytes for the same rows, so another name: still one run."""
    [example] = schema_examples()
    name, data = upstream_file(example)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_bytes(data)
    table = pq.read_table(io.BytesIO(data))
    pq.write_table(table, tmp_path / "data" / "run-same-rows-other-bytes.parquet", compression="gzip")
    other = copy.deepcopy(example)
    other["results"][0]["value"] = 0.5
    other_name, other_data = upstream_file(other)
    (tmp_path / "data" / other_name).write_bytes(other_data)
    read = UpstreamStore(str(tmp_path))
    assert read.run_ids() == sorted([name.removesuffix(".parquet"), other_name.removesuffix(".parquet")])
    assert list(read.duplicates) == ["run-same-rows-other-bytes"]


def test_a_run_published_by_another_pyarrow_is_not_published_again(store: Store, tmp_path: Path) -> None:
    """The same rows in other bytes (another writer's Parquet), so another hash in the name: still there."""
    folder = tmp_path / "upstream"
    first = publish_upstream(store, str(folder))
    name = first.new[0]
    rewritten = io.BytesIO()
    pq.write_table(pq.read_table(folder / "data" / name), rewritten, compression="gzip")
    other = name[: -len("-00000000.parquet")] + "-" + hashlib.sha256(rewritten.getvalue()).hexdigest()[:8] + ".parquet"
    assert other != name
    (folder / "data" / other).write_bytes(rewritten.getvalue())
    (folder / "data" / name).unlink()
    again = publish_upstream(store, str(folder))
    assert again.new == [] and name in again.present
    assert not (folder / "data" / name).exists()


def test_a_seed_file_the_schema_refuses_is_skipped_not_repaired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first seed publisher wrote git_sha 'unknown' where git was missing: nothing is invented for it."""
    [example] = schema_examples()
    rows, _ = upstream_rows(example)
    for row in rows:
        row["git_sha"] = "unknown"
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data" / "run-old.parquet")
    read = UpstreamStore(str(tmp_path))
    assert read.run_ids() == []
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlx-bench: warning: skipped data/run-old.parquet") and "$.git_sha" in err

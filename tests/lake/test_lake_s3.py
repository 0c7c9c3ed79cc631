"""Publish to and read from a real S3 API: moto's standalone server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from tests.fixtures.make_runs import binary_scores, flip, noisy_trials, put_quality_run, put_speed_run

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.lake.remote import RemoteStore
from mlx_benchmarks.store import Store


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket per test, with the AWS environment pointing at the loopback server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALOOPBACKTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "loopback-secret-do-not-print")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MLX_BENCH_S3_ENDPOINT", s3_endpoint)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    name = "lake-" + request.node.name.replace("_", "-")[:40].lower()
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client, name


def keys(bucket: Any) -> list[str]:
    client, name = bucket
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", []))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "local")


def two_speed_runs(store: Store, factor: float = 0.8) -> tuple[str, str]:
    a = put_speed_run(store, model="Qwen3-4B", hour=1, trials={"decode": noisy_trials(100, seed=1)})
    b = put_speed_run(store, model="Qwen3-4B", hour=2, trials={"decode": noisy_trials(100 * factor, seed=2)})
    return a, b


def test_publish_twice_then_read_back_with_runs_and_compare(
    store: Store, bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_speed_runs(store)
    url = f"s3://{bucket[1]}/bench"
    assert main(["publish", "--to", url, "--store", str(store.root)]) == 0
    assert "published 2 new runs" in capsys.readouterr().out
    uploaded = keys(bucket)
    assert f"bench/runs/{a}/envelope.json" in uploaded and f"bench/runs/{b}/results.parquet" in uploaded
    assert len(uploaded) == 6  # envelope, run and results per shard

    assert main(["publish", "--to", url, "--store", str(store.root)]) == 0
    assert "published 0 new runs (0 files, 0.0 kB)" in capsys.readouterr().out
    assert keys(bucket) == uploaded

    assert main(["runs", "--store", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [b, a]
    assert main(["compare", a[:30], b[:30], "--store", url, "--json", "--fail-on-regression"]) == 5
    document = json.loads(capsys.readouterr().out)
    assert document["rows"][0]["verdict"] == "regressed" and document["rows"][0]["method"] == "bootstrap-median"


def test_quality_samples_are_read_from_the_lake(store: Store, bucket: Any) -> None:
    base = binary_scores(150, 120, seed=4)
    a = put_quality_run(store, model="m", hour=1, tasks={"arc": base})
    b = put_quality_run(store, model="m", hour=2, tasks={"arc": flip(base, to_wrong=30, to_right=2, seed=5)})
    assert main(["publish", "--to", f"s3://{bucket[1]}", "--store", str(store.root)]) == 0
    remote = RemoteStore(f"s3://{bucket[1]}")
    assert len(remote.samples(a)) == 150
    from mlx_benchmarks.compare import compare_runs

    [row] = compare_runs(remote, a, b).rows
    assert row.method == "mcnemar-exact" and row.verdict == "regressed"
    assert compare_runs(remote, a, b) == compare_runs(store, a, b)


def test_half_uploaded_shard_is_invisible_then_completed(store: Store, bucket: Any) -> None:
    a, b = two_speed_runs(store)
    client, name = bucket
    for file in ("run.parquet", "results.parquet"):  # a publish killed before envelope.json went up
        client.upload_file(str(store.runs_dir / b / file), name, f"p/runs/{b}/{file}")
    remote = RemoteStore(f"s3://{name}/p")
    assert remote.run_ids() == []
    assert not remote.has_table("run")
    assert main(["publish", "--to", f"s3://{name}/p", "--store", str(store.root)]) == 0
    remote.refresh()
    assert remote.run_ids() == sorted([a, b])
    rows = remote.connect().execute(f"SELECT run_id FROM read_parquet('{remote.glob('run')}')").fetchall()
    assert sorted(r[0] for r in rows) == sorted([a, b])


def test_dry_run_writes_nothing(store: Store, bucket: Any, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = two_speed_runs(store)
    assert main(["publish", "--to", f"s3://{bucket[1]}/x", "--dry-run", "--store", str(store.root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True and a in report["new"] and report["files"] == 6
    assert keys(bucket) == []


def test_unknown_run_on_the_lake_is_exit_2(store: Store, bucket: Any, capsys: pytest.CaptureFixture[str]) -> None:
    two_speed_runs(store)
    assert main(["publish", "--to", f"s3://{bucket[1]}", "--store", str(store.root)]) == 0
    capsys.readouterr()
    assert main(["show", "run-missing", "--store", f"s3://{bucket[1]}"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_bucket_is_one_scrubbed_publish_error(
    store: Store, bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    two_speed_runs(store)
    assert main(["publish", "--to", "s3://no-such-bucket-here/p", "--store", str(store.root)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("mlx-bench: error: publish to s3://no-such-bucket-here/p failed:")
    assert err.count("\n") == 1
    assert "NoSuchBucket" in err or "does not exist" in err or "not found" in err.lower()
    assert "loopback-secret-do-not-print" not in err and "AKIALOOPBACKTEST" not in err

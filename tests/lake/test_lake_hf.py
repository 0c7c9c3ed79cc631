"""Hugging Face lakes: commits through a fake HfApi, listing and errors through a loopback fake hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from tests.fixtures.make_runs import noisy_trials, put_speed_run
from tests.lake.fake_hub import FakeHfApi, FakeHubServer

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import PublishError
from mlx_benchmarks.lake.hf import HfWriter
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.publish import publish
from mlx_benchmarks.lake.remote import RemoteStore
from mlx_benchmarks.store import Store

TOKEN = "hf_TestTokenThatMustNeverBePrinted0123"
URL = "hf://datasets/acme/bench-lake/results"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "local")
    put_speed_run(store, model="m", hour=1, trials={"decode": noisy_trials(100, seed=1)})
    put_speed_run(store, model="m", hour=2, trials={"decode": noisy_trials(90, seed=2)})
    return store


def writer(api: FakeHfApi, token: str | None = TOKEN) -> HfWriter:
    return HfWriter(parse_location(URL), api=api, env={"HF_TOKEN": token} if token else {})


def test_publish_is_one_commit_and_republish_is_a_no_op(store: Store) -> None:
    api = FakeHfApi(files=[".gitattributes", "README.md"])
    report = publish(store, URL, writer=writer(api))
    assert len(report.new) == 2 and report.present == [] and report.files == 6
    [commit] = api.commits
    assert commit["repo_id"] == "acme/bench-lake" and commit["repo_type"] == "dataset"
    paths = [op.path_in_repo for op in commit["operations"]]
    first = store.run_ids()[0]
    assert paths[:3] == [f"results/runs/{first}/{name}" for name in ("run.parquet", "results.parquet", "envelope.json")]
    assert commit["message"].startswith("mlx-bench publish: 2 runs")

    again = publish(store, URL, writer=writer(api))
    assert again.new == [] and len(again.present) == 2
    assert len(api.commits) == 1


def test_a_shard_without_envelope_in_the_repo_is_published_again(store: Store) -> None:
    first, second = store.run_ids()
    api = FakeHfApi(files=[f"results/runs/{first}/envelope.json", f"results/runs/{second}/run.parquet"])
    report = publish(store, URL, writer=writer(api))
    assert report.new == [second] and report.present == [first]


def test_dry_run_makes_no_commit(store: Store) -> None:
    api = FakeHfApi()
    report = publish(store, URL, dry_run=True, writer=writer(api))
    assert report.dry_run and len(report.new) == 2 and api.commits == []
    assert report.summary().startswith("would publish 2 new runs")


def test_publishing_without_a_token_is_a_publish_error(store: Store) -> None:
    with pytest.raises(PublishError, match="HF_TOKEN"):
        publish(store, URL, writer=writer(FakeHfApi(), token=None))


def test_cli_dry_run_lists_the_repo_over_http(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = store.run_ids()[0]
    with FakeHubServer([f"results/runs/{first}/run.parquet", f"results/runs/{first}/envelope.json"]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        assert main(["publish", "--to", URL, "--dry-run", "--json", "--store", str(store.root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["present"] == [first] and report["new"] == [store.run_ids()[1]]
    assert any("/api/datasets/acme/bench-lake/tree/" in path for path in hub.requests)


def test_token_never_appears_in_errors(store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeHubServer([], reject=True) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        code = main(["publish", "--to", URL, "--store", str(store.root)])
    err = capsys.readouterr().err
    assert code == 4
    assert err.startswith(f"mlx-bench: error: publish to {URL} failed:") and err.count("\n") == 1
    assert hub.requests, "the fake hub was not called"
    assert TOKEN not in err and "TestTokenThatMustNeverBePrinted" not in err
    assert "***" in err  # the echoed header was there, and was redacted


def test_remote_store_reads_an_hf_layout(store: Store, tmp_path: Path) -> None:
    # the same tree HfFileSystem would show, served from disk: datasets/ORG/NAME/<prefix>/runs/...
    lake_root = tmp_path / "hub"
    api = FakeHfApi()
    publish(store, URL, writer=writer(api))
    for op in api.commits[0]["operations"]:
        target = lake_root / "datasets/acme/bench-lake" / op.path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(op.path_or_fileobj).read_bytes())
    remote = RemoteStore(URL, fs=DirFileSystem(path=str(lake_root), fs=LocalFileSystem()))
    assert remote.run_ids() == store.run_ids()
    first = store.run_ids()[0]
    assert remote.envelope(first[:25]) == store.envelope(first)
    assert remote.samples(first) == []
    from mlx_benchmarks.query import list_runs

    assert [r["id"] for r in list_runs(remote)] == [r["id"] for r in list_runs(store)]

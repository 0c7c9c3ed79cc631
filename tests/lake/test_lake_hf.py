"""Hugging Face lakes: commits through a fake HfApi, listing and errors through a loopback fake hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures.make_runs import noisy_trials, put_speed_run
from tests.lake.fake_hub import FakeHfApi, FakeHubServer, materialize

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import PublishError
from mlx_benchmarks.lake.hf import HfWriter
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.publish import publish
from mlx_benchmarks.lake.remote import RemoteStore
from mlx_benchmarks.store import Store

TOKEN = "hf_TestTokenThatMustNeverBePrinted0123"
REPO = "acme/bench-lake"
URL = f"hf://datasets/{REPO}/results"


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
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = store.run_ids()[0]
    shard = tmp_path / "hub" / "results" / "runs" / first
    shard.mkdir(parents=True)
    (shard / "envelope.json").write_text("{}")
    with FakeHubServer(tmp_path / "hub", repo=REPO) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        assert main(["publish", "--to", URL, "--dry-run", "--json", "--store", str(store.root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["present"] == [first] and report["new"] == [store.run_ids()[1]]
    assert any(f"/api/datasets/{REPO}/tree/" in path for path in hub.requests)


def test_token_never_appears_in_errors(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeHubServer(tmp_path, repo=REPO, reject=True) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        code = main(["publish", "--to", URL, "--store", str(store.root)])
        read_code = main(["runs", "--store", URL])
    err = capsys.readouterr().err
    assert (code, read_code) == (4, 4)
    publish_line, read_line = err.splitlines()
    assert publish_line.startswith(f"mlx-bench: error: publish to {URL} failed:")
    assert read_line.startswith(f"mlx-bench: error: reading {URL} failed:")
    assert hub.requests, "the fake hub was not called"
    assert TOKEN not in err and "TestTokenThatMustNeverBePrinted" not in err
    assert err.count("***") == 2  # the echoed header was there, and was redacted


def test_runs_and_compare_read_the_dataset_over_http(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeHfApi()
    publish(store, URL, writer=writer(api))
    materialize(api, tmp_path / "hub")
    first, second = store.run_ids()
    with FakeHubServer(tmp_path / "hub", repo=REPO) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)  # a public dataset reads without a token
        remote = RemoteStore(URL)
        assert remote.run_ids() == [first, second]
        assert remote.envelope(first[:25]) == store.envelope(first)
        assert remote.samples(first) == []
        assert main(["runs", "--store", URL, "--json"]) == 0
        assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [second, first]
        assert main(["compare", first, second, "--store", URL, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rows"][0]["method"] == "bootstrap-median"
    assert any("/resolve/" in path and path.endswith("run.parquet") for path in hub.requests)

"""Several machines publishing the seed's flat layout to one dataset or bucket at once, and the seed's
``mlx-bench-publish`` through the real ``HfApi``: every file arrives once and none is replaced.

The hub is tests/lake/fake_hub_writes.py's loopback double, which takes real ``HfApi.create_commit`` calls
and answers 409/412/429 the way the hub does under contention; S3 is moto's server on loopback.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.make_runs import noisy_trials, put_speed_run
from tests.lake.fake_hub_writes import FakeHubWriteServer
from tests.lake.test_concurrent_publish import race

from mlx_benchmarks.cli.seed_publish import main as seed_publish
from mlx_benchmarks.lake.hf import RetryPolicy
from mlx_benchmarks.lake.history import open_read_store
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.upstream import upstream_file
from mlx_benchmarks.lake.upstream_publish import HfDataWriter, S3DataWriter, publish_upstream
from mlx_benchmarks.lake.upstream_store import UpstreamStore
from mlx_benchmarks.store import Store

PUBLISHERS = 4
TOKEN = "hf_UpstreamRaceTokenNeverPrinted42"
REPO = "acme/seed-lake"
LM_EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "lm_eval_results.json"


def stores(tmp_path: Path) -> tuple[list[Store], str]:
    """Machines with one run each of their own and one run they all hold (the same envelope)."""
    shared_store = Store(tmp_path / "shared")
    shared = put_speed_run(shared_store, model="shared", hour=0, trials={"decode": noisy_trials(50, seed=9)})
    out = []
    for n in range(PUBLISHERS):
        store = Store(tmp_path / f"machine-{n}")
        put_speed_run(store, model=f"m{n}", hour=n + 1, trials={"decode": noisy_trials(100 + n, seed=n)})
        shutil.copytree(shared_store.runs_dir / shared, store.runs_dir / shared)
        out.append(store)
    return out, upstream_file(shared_store.envelope(shared))[0]


def assert_each_file_new_once(reports: list[Any], all_stores: list[Store], shared: str) -> set[str]:
    everything = {upstream_file(s.envelope(r))[0] for s in all_stores for r in s.run_ids()}
    counted = Counter(name for report in reports for name in report.new)
    assert set(counted) == everything
    assert counted[shared] >= 1  # listed before another's commit landed, it may be tried by several
    return everything


def test_publishers_race_to_a_contended_hub(tmp_path: Path) -> None:
    all_stores, shared = stores(tmp_path)
    url = f"hf://datasets/{REPO}"
    policy = RetryPolicy(attempts=40, base_s=0.02, cap_s=0.3, max_wait_s=5)
    with FakeHubWriteServer(tmp_path / "hub", repo=REPO, hold_s=0.1, per_window=3, window_s=1.0) as hub:
        env = {"HF_TOKEN": TOKEN, "HF_ENDPOINT": hub.url}
        writers = [HfDataWriter(parse_location(url), env=env) for _ in all_stores]
        for writer in writers:
            writer.shards.retry = policy
        reports = race([lambda s=s, w=w: publish_upstream(s, url, writer=w) for s, w in zip(all_stores, writers, strict=True)])
        everything = assert_each_file_new_once(reports, all_stores, shared)
        committed = Counter(p for c in hub.commits for p in c["paths"])
        assert set(committed) == {f"data/{name}" for name in everything}
        assert set(committed.values()) == {1}  # the shared run's file committed once, never replaced
        assert sum(len(w.shards.retries) for w in writers) == hub.statuses[409] + hub.statuses[412] + hub.statuses[429]
        read = UpstreamStore(str(tmp_path / "hub"))
        assert len(read.run_ids()) == len(everything) and read.skipped == {}


def test_publishers_race_to_s3_and_a_file_there_is_never_replaced(tmp_path: Path, bucket: Any) -> None:
    client, name = bucket
    all_stores, shared = stores(tmp_path)
    url = f"s3://{name}/seed"
    reports = race([lambda s=s: publish_upstream(s, url) for s in all_stores])
    everything = assert_each_file_new_once(reports, all_stores, shared)
    listed = sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"])
    assert listed == sorted(f"seed/data/{n}" for n in everything)
    # a writer that listed before another wrote: its PUT is conditional, the object stays as it was
    client.put_object(Bucket=name, Key="seed/data/run-x.parquet", Body=b"first writer's bytes")
    S3DataWriter(parse_location(url)).upload([("run-x.parquet", b"second writer's bytes")], "")
    assert client.get_object(Bucket=name, Key="seed/data/run-x.parquet")["Body"].read() == b"first writer's bytes"


def test_mlx_bench_publish_through_the_real_hf_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with FakeHubWriteServer(tmp_path / "hub", repo=REPO) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        argv = [str(LM_EVAL), "--kind", "lm-eval", "--suite", "reasoning", "--git-sha", "abcdef0", "--repo-id", REPO]
        assert seed_publish(argv) == 0
        assert seed_publish(argv) == 0  # the file is there: no second commit
        [commit] = hub.commits
        [path] = commit["paths"]
        assert path.startswith("data/run-") and "-abcdef0-reasoning-" in path
        assert commit["message"].startswith("feat: add reasoning run for ")
        store = open_read_store(f"hf://datasets/{REPO}")
        assert isinstance(store, UpstreamStore) and store.run_ids() == [Path(path).stem]
        assert store.envelope(Path(path).stem)["git_sha"] == "abcdef0"
    assert TOKEN not in capsys.readouterr().err


def test_mlx_bench_publish_finds_the_same_run_under_another_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the seed's publisher (another pyarrow) wrote for the same run: nothing uploaded."""
    import io

    import pyarrow.parquet as pq

    with FakeHubWriteServer(tmp_path / "hub", repo=REPO) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        argv = [str(LM_EVAL), "--suite", "reasoning", "--git-sha", "abcdef0", "--repo-id", REPO,
                "--timestamp", "2026-05-01T00:00:00Z"]
        assert seed_publish(argv) == 0
        [path] = hub.commits[0]["paths"]
        rewritten = io.BytesIO()
        pq.write_table(pq.read_table(tmp_path / "hub" / path), rewritten, compression="gzip")
        other = path[: -len("00000000.parquet")] + "ffffffff.parquet"
        (tmp_path / "hub" / other).write_bytes(rewritten.getvalue())
        (tmp_path / "hub" / path).unlink()
        assert seed_publish(argv) == 0
        assert len(hub.commits) == 1

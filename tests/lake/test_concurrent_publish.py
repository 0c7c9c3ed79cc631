"""Many machines publishing to one lake at once: every run arrives exactly once, none is overwritten.

Eight publishers start together (a barrier), each with two runs of its own and one run they all hold
(the same shard, byte for byte): against moto's S3 server (conditional writes) and against a loopback hub
that refuses commits the way the real one does under contention (tests/lake/fake_hub_writes.py: 409, 412,
429). Threads stand in for machines: each has its own filesystem client or HfApi and its own store.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.make_runs import noisy_trials, put_speed_run
from tests.lake.fake_hub_writes import FakeHubWriteServer

from mlx_benchmarks.lake.hf import HfWriter, RetryPolicy
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.publish import PublishReport, publish
from mlx_benchmarks.lake.remote import RemoteStore
from mlx_benchmarks.lake.s3 import S3Writer, s3_filesystem
from mlx_benchmarks.lake.shards import local_shards
from mlx_benchmarks.store import Store

PUBLISHERS = 8
TOKEN = "hf_ConcurrencyTestTokenNeverPrinted42"
REPO = "acme/fleet-lake"


def stores(tmp_path: Path) -> tuple[list[Store], str]:
    """Eight stores, two runs each of their own plus one shared shard copied into all (same bytes)."""
    shared_store = Store(tmp_path / "shared")
    shared = put_speed_run(shared_store, model="shared", hour=0, trials={"decode": noisy_trials(50, seed=99)})
    out = []
    for n in range(PUBLISHERS):
        store = Store(tmp_path / f"machine-{n}")
        for k in range(2):
            put_speed_run(store, model=f"m{n}", hour=n * 2 + k + 1, trials={"decode": noisy_trials(100 + n, seed=k)})
        shutil.copytree(shared_store.runs_dir / shared, store.runs_dir / shared)
        out.append(store)
    return out, shared


def race(work: list[Any]) -> list[PublishReport]:
    """Run every callable at once (released together by a barrier); re-raise the first failure."""
    barrier = threading.Barrier(len(work))
    reports: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            reports[i] = work[i]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a publisher hung"
    if errors:
        raise errors[0]
    return reports


def assert_each_run_new_exactly_once(reports: list[PublishReport], all_stores: list[Store], shared: str) -> set[str]:
    everything = {run_id for store in all_stores for run_id in store.run_ids()}
    counted = Counter(run_id for report in reports for run_id in report.new)
    assert set(counted) == everything and set(counted.values()) == {1}, counted
    for report, store in zip(reports, all_stores, strict=True):
        assert set(report.new) | set(report.present) == set(store.run_ids())
    assert sum(shared in r.present for r in reports) == PUBLISHERS - 1
    return everything


def test_eight_publishers_to_s3_at_once(tmp_path: Path, bucket: Any) -> None:
    all_stores, shared = stores(tmp_path)
    url = f"s3://{bucket[1]}/fleet"
    reports = race([lambda s=s: publish(s, url) for s in all_stores])
    everything = assert_each_run_new_exactly_once(reports, all_stores, shared)
    assert RemoteStore(url).run_ids() == sorted(everything)
    client, name = bucket
    listed = sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"])
    assert listed == sorted({f"fleet/runs/{shard.run_id}/{path.name}" for store in all_stores
                             for shard in local_shards(store) for path in shard.files})


def test_s3_second_writer_of_a_shard_never_overwrites(tmp_path: Path, bucket: Any) -> None:
    """Both writers listed the lake before either wrote (the race the listing cannot close)."""
    first, second = Store(tmp_path / "a"), Store(tmp_path / "b")
    run = put_speed_run(first, model="m", hour=1, trials={"decode": noisy_trials(100, seed=1)})
    shutil.copytree(first.runs_dir / run, second.runs_dir / run)
    location = parse_location(f"s3://{bucket[1]}/lake")
    a, b = S3Writer(location), S3Writer(location)
    assert a.complete_run_ids() == b.complete_run_ids() == set()
    assert a.upload(local_shards(first), "") == set()
    assert b.upload(local_shards(second), "") == {run}  # every file there already: 412s, nothing rewritten
    # an attempt of the same run key that measured other values (same shard id, other bytes)
    other = Store(tmp_path / "c")
    shutil.copytree(first.runs_dir / run, other.runs_dir / run)
    (other.runs_dir / run / "run.parquet").write_bytes(b"not the same bytes")
    assert S3Writer(location).upload(local_shards(other), "") == {run}
    fs = s3_filesystem()
    assert fs.cat_file(location.run_path(run, "run.parquet")) == (first.runs_dir / run / "run.parquet").read_bytes()


def test_eight_publishers_to_a_contended_hub_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    all_stores, shared = stores(tmp_path)
    url = f"hf://datasets/{REPO}/results"
    policy = RetryPolicy(attempts=40, base_s=0.02, cap_s=0.3, max_wait_s=5)
    env = {"HF_TOKEN": TOKEN}
    with FakeHubWriteServer(tmp_path / "hub", repo=REPO, hold_s=0.05, per_window=2, window_s=0.5,
                            first_hold_s=20) as hub:
        env["HF_ENDPOINT"] = hub.url
        writers = [HfWriter(parse_location(url), env=env, retry=policy) for _ in all_stores]
        reports = race([lambda s=s, w=w: publish(s, url, writer=w) for s, w in zip(all_stores, writers, strict=True)])
    everything = assert_each_run_new_exactly_once(reports, all_stores, shared)
    assert hub.statuses[409] > 0 and hub.statuses[429] > 0, hub.statuses  # the fight happened
    assert sum(len(w.retries) for w in writers) == hub.statuses[409] + hub.statuses[412] + hub.statuses[429]
    envelopes = Counter(p for c in hub.commits for p in c["paths"] if p.endswith("/envelope.json"))
    assert set(envelopes) == {f"results/runs/{i}/envelope.json" for i in everything}
    assert set(envelopes.values()) == {1}  # no shard committed twice
    assert len(hub.commits) == PUBLISHERS  # one successful commit per machine


def test_hub_gives_up_after_its_attempts_with_one_publish_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "local")
    put_speed_run(store, model="m", hour=1, trials={"decode": noisy_trials(100, seed=1)})
    url = f"hf://datasets/{REPO}"
    waits: list[float] = []
    with FakeHubWriteServer(tmp_path / "hub", repo=REPO, per_window=0) as hub:  # every commit: 429
        writer = HfWriter(parse_location(url), env={"HF_TOKEN": TOKEN, "HF_ENDPOINT": hub.url},
                          retry=RetryPolicy(attempts=3), sleep=waits.append)
        with pytest.raises(Exception, match="429") as raised:
            publish(store, url, writer=writer)
    assert type(raised.value).__name__ == "PublishError" and TOKEN not in str(raised.value)
    assert waits == [0.5, 0.5] and writer.retries == [429, 429]  # Retry-After obeyed, then given up

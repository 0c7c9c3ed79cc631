"""A fleet on one machine: ray.cluster_utils.Cluster with labelled nodes, the calibration server as the
target, moto's S3 server as the lake. Linux only, no real Mac (docs/fleet.md says what that leaves out).

- placement: each cell runs on a node whose labels match its `where`; a cell no node matches is reported
  at once; each node stores its run in its own store and the lake holds exactly one envelope per cell;
- a node removed mid-cell: the cell is retried on the other matching node and the lake still holds
  exactly one complete envelope for it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from mlx_benchmarks.cli.main import main  # noqa: E402
from mlx_benchmarks.cli.sweep_cmd import validate_suite_options  # noqa: E402
from mlx_benchmarks.fleet.cells import Cell, plan_cells  # noqa: E402
from mlx_benchmarks.fleet.driver import CellState, FleetRun  # noqa: E402
from mlx_benchmarks.lake.remote import RemoteStore  # noqa: E402
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer  # noqa: E402
from mlx_benchmarks.store import Store, run_key_digest  # noqa: E402
from mlx_benchmarks.sweep import parse_sweep  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

AWS = {"AWS_ACCESS_KEY_ID": "AKIAFLEETTEST", "AWS_SECRET_ACCESS_KEY": "fleet-secret-do-not-print",
       "AWS_DEFAULT_REGION": "us-east-1"}
QUICK = '{ prompt_lengths = "16", gen_tokens = "4", trials = 2, warmup = 0, client_check = false }'


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[dict[str, Any]]:
    """A head that runs no cells and two labelled nodes, each with its own store; connected."""
    root = tmp_path_factory.mktemp("fleet")
    env = {**AWS, "MLX_BENCH_S3_ENDPOINT": s3_endpoint}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = {}
    for name, labels in (("studio", {"chip": "Apple-M4-Max", "memory_gb": "64", "os": "macOS"}),
                         ("air", {"chip": "Apple-M2", "memory_gb": "16", "os": "macOS"})):
        nodes[name] = cluster.add_node(num_cpus=1, resources={"mlx_bench_timed": 1}, labels=labels,
                                       env_vars={**env, "MLX_BENCH_STORE": str(root / name)})
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    try:
        yield {"cluster": cluster, "nodes": nodes, "root": root, "env": env}
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def lake(fleet: dict[str, Any], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch,
         request: pytest.FixtureRequest) -> str:
    for key, value in fleet["env"].items():
        monkeypatch.setenv(key, value)
    name = "fleet-" + request.node.name.replace("_", "-")[:40].lower()
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return f"s3://{name}/lake"


def envelopes_of(lake: str, run_key: str) -> list[str]:
    return [i for i in RemoteStore(lake).run_ids() if i.endswith("-" + run_key_digest(run_key))]


def slow_ttft_cell(url: str, label: str, where: str) -> Cell:
    """One ttft cell long enough (10 trials of a 300 ms first token) for its node to be lost mid-cell."""
    plan = parse_sweep(f"""
[[targets]]
label = "{label}"
target = "{url}"
where = {{ {where} }}

[[suites]]
name = "ttft"
options = {{ prompt_lengths = "16", gen_tokens = "8", trials = 10, warmup = 0, client_check = false }}
""", validate_suite_options)
    [cell] = plan_cells(plan, git_sha="abcdef0")
    return cell


def test_cells_run_where_their_labels_match_and_land_once_in_the_lake(
        fleet: dict[str, Any], lake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nodes = fleet["nodes"]
    with SpawnedCalibrationServer(ttft_ms=5, itl_ms=1) as server:
        sweep = tmp_path / "fleet.toml"
        sweep.write_text(f"""
[[targets]]
label = "big"
target = "{server.url}"
where = {{ chip = "Apple M4 Max", memory_gb = ">=64" }}

[[targets]]
label = "small"
target = "{server.url}"
where = {{ chip = "apple m2" }}

[[targets]]
label = "nowhere"
target = "{server.url}"
where = {{ memory_gb = ">=512" }}

[[suites]]
name = "ttft"
options = {QUICK}
""")
        code = main(["sweep", str(sweep), "--ray", fleet["cluster"].address, "--publish", lake, "--json",
                     "--git-sha", "abcdef0"])
    cells = {c["target"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 6  # one cell had nowhere to run
    assert cells["nowhere"]["status"] == "no node" and cells["nowhere"]["run_id"] is None
    assert "no live node matches memory_gb>=512" in cells["nowhere"]["error"]
    assert cells["big"]["status"] == cells["small"]["status"] == "done"
    assert cells["big"]["node"] == nodes["studio"].node_id and cells["small"]["node"] == nodes["air"].node_id
    for label, machine in (("big", "studio"), ("small", "air")):
        run_id = cells[label]["run_id"]
        assert Store(fleet["root"] / machine).run_ids() == [run_id]  # the node's own store
        assert cells[label]["published"] == [run_id]
        assert cells[label]["envelope"]["suite"] == "ttft" and cells[label]["envelope"]["git_sha"] == "abcdef0"
    assert sorted(RemoteStore(lake).run_ids()) == sorted([cells["big"]["run_id"], cells["small"]["run_id"]])

    assert main(["fleet", "nodes", "--ray", fleet["cluster"].address]) == 0
    listed = capsys.readouterr().out
    for node in nodes.values():
        assert node.node_id[:8] in listed
    assert "chip=Apple-M4-Max, memory_gb=64, os=macOS" in listed and "chip=Apple-M2" in listed


def test_a_node_lost_mid_cell_is_retried_elsewhere_and_stored_once(
        fleet: dict[str, Any], lake: str, tmp_path: Path) -> None:
    cluster = fleet["cluster"]
    spare = cluster.add_node(num_cpus=1, resources={"mlx_bench_timed": 1},
                             labels={"chip": "Apple-M4-Max", "memory_gb": "128", "os": "macOS"},
                             env_vars={**fleet["env"], "MLX_BENCH_STORE": str(fleet["root"] / "spare")})
    by_id = {node.node_id: name for name, node in {**fleet["nodes"], "spare": spare}.items()}
    stores = {"studio": fleet["root"] / "studio", "spare": fleet["root"] / "spare"}
    before = {name: set(Store(path).run_ids()) for name, path in stores.items()}
    removed: list[str] = []
    seen: dict[int, float] = {}

    def pull_the_plug(states: list[CellState]) -> None:
        state = states[0]
        if state.status == "running" and not removed:
            seen.setdefault(state.cell.index, time.monotonic())
            if time.monotonic() - seen[state.cell.index] > 1.5:  # mid-cell: it is measuring by now
                removed.append(by_id[state.node])
                cluster.remove_node({"studio": fleet["nodes"]["studio"], "spare": spare}[removed[0]])

    with SpawnedCalibrationServer(ttft_ms=300, itl_ms=20) as server:
        cell = slow_ttft_cell(server.url, "big", 'memory_gb = ">=64"')
        shown = io.StringIO()
        live = Console(file=shown, width=200, color_system=None)
        [state] = FleetRun(address=None, lake=lake, console=live, on_update=pull_the_plug).run([cell])
    assert removed, f"the cell never ran long enough to lose its node: {state.status} {state.error}"
    survivor = "spare" if removed[0] == "studio" else "studio"
    assert state.status == "done", (state.status, state.error)
    attempts = [by_id.get(n, n) for n in state.history]
    assert by_id[state.node] == survivor and attempts == [removed[0], survivor], (state.node, attempts)
    assert envelopes_of(lake, cell.run_key) == [state.outcome.run_id]  # exactly one, complete
    new = set(Store(stores[survivor]).run_ids()) - before[survivor]
    assert new == {state.outcome.run_id}
    assert set(Store(stores[removed[0]]).run_ids()) == before[removed[0]]  # died before it stored anything
    [row] = [line for line in shown.getvalue().splitlines()[-6:] if "ttft" in line]  # the live table, last
    assert "big" in row and "done" in row and state.outcome.run_id[:24] in row


def test_a_cell_whose_only_node_is_lost_is_reported_not_waited_on(fleet: dict[str, Any], lake: str) -> None:
    cluster = fleet["cluster"]
    solo = cluster.add_node(num_cpus=1, resources={"mlx_bench_timed": 1}, labels={"rack": "9"},
                            env_vars={**fleet["env"], "MLX_BENCH_STORE": str(fleet["root"] / "solo")})
    removed: list[bool] = []

    def pull_the_plug(states: list[CellState]) -> None:
        if states[0].status == "running" and not removed:
            removed.append(True)
            cluster.remove_node(solo)

    with SpawnedCalibrationServer(ttft_ms=300, itl_ms=20) as server:
        cell = slow_ttft_cell(server.url, "rack9", 'rack = "9"')
        started = time.monotonic()
        [state] = FleetRun(address=None, lake=lake, on_update=pull_the_plug).run([cell])
    assert removed and time.monotonic() - started < 60
    assert state.status == "lost" and state.exit_code == 6, (state.status, state.error)
    assert "every node that matches rack=9 has left the cluster" in str(state.error)
    assert envelopes_of(lake, cell.run_key) == []


def test_a_mac_joined_with_fleet_join_takes_the_cells_that_name_its_labels(
        fleet: dict[str, Any], lake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mlx-bench fleet join ADDRESS` runs the real `ray start` (kept in the foreground with --block, in its
    own session, so the test stops exactly what it started); the node carries this machine's labels and
    a cell whose `where` names one of them runs there."""
    joined = fleet["root"] / "joined"
    env = {**os.environ, **fleet["env"], "MLX_BENCH_STORE": str(joined), "RAY_USAGE_STATS_ENABLED": "0"}
    command = [sys.executable, "-m", "mlx_benchmarks.cli.main", "fleet", "join", fleet["cluster"].address,
               "--label", "rack=7", "--num-cpus", "1", "--ray-arg=--block"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                               env=env)
    node: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 90
        while not node and time.monotonic() < deadline and process.poll() is None:
            node = next((n for n in ray.nodes() if n["Alive"] and n["Labels"].get("rack") == "7"), {})
            time.sleep(0.5)
        assert node, "the joined node never showed up"
        with SpawnedCalibrationServer(ttft_ms=5, itl_ms=1) as server:
            sweep = tmp_path / "rack7.toml"
            sweep.write_text(f"""
[[targets]]
label = "rack7"
target = "{server.url}"
where = {{ rack = "7" }}

[[suites]]
name = "ttft"
options = {QUICK}
""")
            code = main(["sweep", str(sweep), "--ray", fleet["cluster"].address, "--publish", lake,
                         "--git-sha", "abcdef0"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the session this test started, nothing else
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        printed = process.stdout.read().decode() if process.stdout else ""
        if process.stdout:
            process.stdout.close()
    assert printed.startswith(f"{Path(sys.executable).parent / 'ray'} start --address={fleet['cluster'].address}")
    labels = node["Labels"]
    assert labels["hostname"] and int(labels["memory_gb"]) > 0 and labels["chip"] and labels["os"]
    assert node["Resources"]["mlx_bench_timed"] == 1.0
    shown = capsys.readouterr().out  # the live table as it ended, then the side-by-side table
    [run_id] = Store(joined).run_ids()
    assert code == 0 and RemoteStore(lake).run_ids() == [run_id]
    [row] = [line for line in shown.splitlines() if "rack=7" in line and "│" in line]  # printed once
    assert f"│ {node['Labels']['hostname'][:5]}" in row and "done" in row and run_id[:20] in row  # named by its host
    assert "capability-comparison · ttft" in shown and "rack7" in shown

"""Fleet placement without a cluster: `where` in sweep files, node labels, the `ray start` line, the plan."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.cli.sweep_cmd import validate_suite_options
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.fleet.cells import plan_cells
from mlx_benchmarks.fleet.driver import FleetNode, candidates
from mlx_benchmarks.fleet.labels import label_value, matches, start_command, system_labels
from mlx_benchmarks.sweep import Condition, parse_sweep, parse_where

SWEEP = """
[sweep]
name = "fleet"

[[targets]]
label = "big"
target = "http://127.0.0.1:9/v1"
where = { chip = "Apple M4 Max", memory_gb = ">=64" }

[[targets]]
label = "small"
target = "http://127.0.0.1:9/v1"
where = { chip = "apple m2" }

[[suites]]
name = "ttft"
options = { trials = 1, warmup = 0 }

[[suites]]
name = "tool-calling"
options = { limit = 2 }
where = { os = "macOS" }
"""


def test_where_parses_values_and_comparisons() -> None:
    conditions = parse_where({"chip": "Apple M4 Max", "memory_gb": ">= 64", "gpu_cores": 40}, "targets[0]")
    assert conditions == (Condition("chip", "=", "Apple M4 Max"), Condition("memory_gb", ">=", 64.0),
                          Condition("gpu_cores", "==", 40.0))
    assert [str(c) for c in conditions] == ["chip=Apple M4 Max", "memory_gb>=64", "gpu_cores==40"]


@pytest.mark.parametrize(("where", "message"), [
    ({"memory_gb": ">=lots"}, r"targets\[0\]\.where\.memory_gb: '>=lots' is neither"),
    ({"chip": True}, r"targets\[0\]\.where\.chip: expected a string or a number"),
    ({"chip": ["a"]}, r"expected a string or a number, got list"),
    ({"9chip": "x"}, r"targets\[0\]\.where\.9chip: not a node label name"),
    ({"chip": "  "}, r"neither a value nor a comparison"),
])
def test_bad_where_names_its_key(where: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_where(where, "targets[0]")


def test_sweep_file_where_in_a_table_that_is_not_one() -> None:
    with pytest.raises(UsageError, match=r"targets\[0\]\.where: expected a table"):
        parse_sweep('[[targets]]\ntarget = "embedded"\nwhere = "m4"\n[[suites]]\nname = "ttft"\n',
                    validate_suite_options)


def test_labels_are_ray_label_values_and_match_where_case_insensitively() -> None:
    labels = system_labels({"chip": "Apple M4 Max", "memory_gb": 64, "os": "macOS 15.3.2", "kernel": "24.3.0"},
                           {"team": "ml infra"})
    assert labels == {"chip": "Apple-M4-Max", "memory_gb": "64", "os": "macOS-15.3.2", "team": "ml-infra"}
    assert label_value("  (weird) name!  ") == "weird-name" and len(label_value("x" * 99)) == 63
    assert matches(parse_where({"chip": "apple m4 max", "memory_gb": ">=64"}, "w"), labels)
    assert not matches(parse_where({"memory_gb": ">64"}, "w"), labels)
    assert not matches(parse_where({"rack": "2"}, "w"), labels)  # a label the node lacks
    assert not matches(parse_where({"chip": "<=3"}, "w"), labels)  # not a number: never satisfies a comparison
    with pytest.raises(UsageError, match=r"--label ray\.io/x"):
        system_labels({}, {"ray.io/x": "1"})


def test_cells_carry_placement_and_a_key_each_and_are_placed_on_matching_nodes() -> None:
    plan = parse_sweep(SWEEP, validate_suite_options)
    cells = plan_cells(plan, git_sha="abcdef0", timestamp="2026-12-04T10:00:00Z")
    assert [(c.request.suite, c.label, c.timed) for c in cells] == [
        ("ttft", "big", True), ("ttft", "small", True), ("tool-calling", "big", False), ("tool-calling", "small", False)]
    assert len({c.run_key for c in cells}) == 4 and {c.timestamp for c in cells} == {"2026-12-04T10:00:00Z"}
    assert cells[2].placement == "chip=Apple M4 Max, memory_gb>=64, os=macOS"
    assert all(c.request.git_sha == "abcdef0" for c in cells)
    studio = FleetNode("a" * 8, {"chip": "Apple-M4-Max", "memory_gb": "128", "os": "macOS"}, {"mlx_bench_timed": 1.0})
    air = FleetNode("b" * 8, {"chip": "Apple-M2", "memory_gb": "16", "os": "macOS"}, {"mlx_bench_timed": 1.0})
    bare = FleetNode("c" * 8, {"chip": "Apple-M4-Max", "memory_gb": "64", "os": "macOS"}, {})  # joined without us
    assert [[n.node_id for n in candidates(c, [studio, air, bare])] for c in cells] == [
        ["a" * 8], ["b" * 8], ["a" * 8], ["b" * 8]]


def test_join_dry_run_prints_the_ray_start_line_from_this_macs_system(
        fake_macos: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "join", "10.0.0.5:6379", "--label", "rack=2", "--num-cpus", "4", "--dry-run"]) == 0
    command = shlex.split(capsys.readouterr().out.strip())
    assert command[:3] == ["ray", "start", "--address=10.0.0.5:6379"]
    labels = dict(item.split("=", 1) for item in command[3].removeprefix("--labels=").split(","))
    assert labels["chip"] == "Apple-M3-Max" and labels["rack"] == "2" and labels["os"].startswith("macOS")
    assert int(labels["memory_gb"]) > 0 and labels["hostname"]
    assert json.loads(command[4].removeprefix("--resources=")) == {"mlx_bench_timed": 1}
    assert command[5] == "--num-cpus=4"
    assert start_command({"chip": "x"}, address=None)[:3] == ["ray", "start", "--head"]


def test_join_needs_an_address_or_head(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "join", "--dry-run"]) == 2
    assert main(["fleet", "join", "h:1", "--head", "--dry-run"]) == 2
    assert main(["fleet", "join", "h:1", "--label", "nolabel", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "give the head's ADDRESS" in err and "--label 'nolabel': write KEY=VALUE" in err
    assert "Traceback" not in err


def test_sweep_ray_dry_run_plans_without_a_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "fleet.toml"
    sweep.write_text(SWEEP)
    assert main(["sweep", str(sweep), "--ray", "10.0.0.5:6379", "--dry-run", "--git-sha", "abcdef0",
                 "--publish", "s3://lake/fleet"]) == 0
    out = capsys.readouterr().out
    assert "4 cell(s) on the fleet at 10.0.0.5:6379, published to s3://lake/fleet" in out
    assert "on small (timed; chip=apple m2)" in out and "(untimed; chip=Apple M4 Max, memory_gb>=64, os=macOS)" in out
    assert main(["sweep", str(sweep), "--ray", "--store", str(tmp_path), "--dry-run"]) == 2
    assert main(["sweep", str(sweep), "--publish", "s3://lake/x", "--dry-run"]) == 2
    assert main(["sweep", str(sweep), "--ray", "--publish", "ftp://x", "--dry-run", "--git-sha", "abcdef0"]) == 2
    err = capsys.readouterr().err
    assert "each node stores its runs in its own store" in err and "--publish goes with --ray" in err
    assert "unsupported lake 'ftp://x'" in err


def test_help_and_join_dry_run_never_import_ray() -> None:
    code = ("import sys\nfrom mlx_benchmarks.cli.main import main\n"
            "for argv in (['--help'], ['sweep', '--help'], ['fleet', 'join', 'h:1', '--dry-run']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('RAY' if 'ray' in sys.modules else 'NO-RAY')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip().endswith("NO-RAY"), done.stderr[-500:]

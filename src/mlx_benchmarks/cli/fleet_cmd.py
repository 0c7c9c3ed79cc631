"""``mlx-bench fleet``: make this machine a node of a benchmark fleet on Ray, or list the fleet's nodes.

``mlx-bench fleet join ADDRESS`` runs ``ray start --address=ADDRESS`` with this machine's labels (chip,
memory_gb, os and hostname, from its own ``mlx-bench system``) and one unit of ``mlx_bench_timed``;
``--head`` starts the cluster's head instead; ``--dry-run`` prints the command only. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import console
from mlx_benchmarks.errors import PrerequisiteError, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("fleet", help="join a benchmark fleet on Ray, or list its nodes",
                                   description="Machines of a fleet run the cells of `mlx-bench sweep FILE --ray`.")
    commands = parser.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True)
    join = commands.add_parser("join", help="make this machine a node (wraps `ray start`)",
                               description="Start Ray on this machine as a node of the fleet at ADDRESS, "
                                           "labelled from `mlx-bench system` (chip, memory_gb, os, hostname).")
    join.add_argument("address", nargs="?", default=None, metavar="ADDRESS", help="the head's HOST:PORT")
    join.add_argument("--head", action="store_true", help="start the fleet's head here instead of joining one")
    join.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                      help="an extra node label, for `where` in sweep files (repeatable)")
    join.add_argument("--num-cpus", type=int, default=None, metavar="N", help="CPUs Ray may schedule here")
    join.add_argument("--ray-arg", action="append", default=[], metavar="ARG",
                      help="pass ARG on to `ray start`, e.g. --ray-arg=--port=6380 (repeatable)")
    join.add_argument("--dry-run", action="store_true", help="print the `ray start` command, run nothing")
    join.set_defaults(func=fleet_join)
    nodes = commands.add_parser("nodes", help="list the fleet's live nodes, their labels and resources")
    nodes.add_argument("--ray", default="auto", metavar="ADDRESS", help="the cluster (default: auto)")
    nodes.set_defaults(func=fleet_nodes)


def ray_binary() -> str:
    """The ``ray`` next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.is_file() else shutil.which("ray")
    if not found:
        raise PrerequisiteError("fleet join needs Ray: pip install 'mlx-benchmarks[fleet]'")
    return found


def fleet_join(args: argparse.Namespace) -> int:
    from mlx_benchmarks.fleet.labels import parse_label_flags, shell_line, start_command, system_labels
    from mlx_benchmarks.system import detect_system

    if args.head == (args.address is not None):
        raise UsageError("fleet join: give the head's ADDRESS, or --head to start the head here")
    if args.num_cpus is not None and args.num_cpus < 0:
        raise UsageError("--num-cpus: must be 0 or more")
    extra = {"hostname": socket.gethostname(), **parse_label_flags(args.label)}
    labels = system_labels(detect_system(), extra)
    command = start_command(labels, address=args.address, num_cpus=args.num_cpus,
                            ray_bin="ray" if args.dry_run else ray_binary()) + list(args.ray_arg)
    console().print(shell_line(command), markup=False, soft_wrap=True)
    if args.dry_run:
        return 0
    return subprocess.run(command, check=False).returncode


def fleet_nodes(args: argparse.Namespace) -> int:
    from rich.table import Table

    from mlx_benchmarks.fleet.driver import connect, live_nodes
    from mlx_benchmarks.fleet.labels import NODE_ID_LABEL, TIMED_RESOURCE

    ray, connected = connect(args.ray)
    table = Table(title="fleet nodes")
    for column in ("node", "labels", TIMED_RESOURCE, "CPU"):
        table.add_column(column)
    for node in live_nodes(ray):
        labels = ", ".join(f"{k}={v}" for k, v in sorted(node.labels.items()) if k != NODE_ID_LABEL)
        table.add_row(node.node_id[:8], labels, f"{node.resources.get(TIMED_RESOURCE, 0):g}",
                      f"{node.resources.get('CPU', 0):g}")
    console().print(table)
    if connected:
        ray.shutdown()
    return 0

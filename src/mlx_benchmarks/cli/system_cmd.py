"""``mlx-bench system``: print the detected system block."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from mlx_benchmarks.cli.common import console, print_json
from mlx_benchmarks.system import detect_git_sha, detect_system, detect_trigger


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("system", help="show the detected system, software and CI context")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    system = detect_system()
    ci = detect_trigger()
    context: dict[str, Any] = {"trigger": ci.trigger, "pr_number": ci.pr_number}
    try:
        context["git_sha"] = detect_git_sha()
    except Exception as exc:  # report, don't fail: `system` is a diagnostic
        context["git_sha_error"] = str(exc)
    if args.json:
        print_json({"system": system, **context})
        return 0
    table = Table(title="system", show_header=False)
    for key, value in {**system, **context}.items():
        table.add_row(key, str(value))
    console().print(table)
    return 0

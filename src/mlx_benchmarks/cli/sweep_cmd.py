"""``mlx-bench sweep FILE.toml``: targets × suites × parameters from one file, compared side by side.

The whole file is validated first (every key, every suite flag, through the same parsers as ``mlx-bench
run``), so a typo fails in a second with its key path instead of after an hour of runs.

With ``--ray [ADDRESS]`` (or ``RAY_ADDRESS``) every cell runs as one Ray task on a fleet, placed by the
file's ``where`` keys; each node stores its runs in its own store and publishes them to ``--publish``
(docs/fleet.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, err_console, store_location
from mlx_benchmarks.cli.run_cmd import COMMON_KEYS, run_parser
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.suites.registry import get_suite
from mlx_benchmarks.views.sweep_plan import matrix_text, options_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sweep", help="run suites on several targets from a TOML sweep file",
                                   description="Run every [[suites]] entry (and matrix combination) on every "
                                               "[[targets]] entry; print one comparison table per run.")
    parser.add_argument("file", metavar="FILE.toml")
    add_store_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="validate the file and print the plan only")
    parser.add_argument("--json", action="store_true", help="print the stored envelopes as JSON")
    parser.add_argument("--git-sha", default=None, help="override the detected commit")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run every cell as a Ray task on a fleet (default address: $RAY_ADDRESS, else auto)")
    parser.add_argument("--publish", default=None, metavar="URL",
                        help="with --ray: each node publishes its runs to this lake (s3://... or hf://datasets/...)")
    parser.set_defaults(func=sweep)


def _coerce(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false, got {value!r}")
        return value
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        converted = action.type(text) if callable(action.type) else text
    except (ValueError, TypeError, argparse.ArgumentTypeError):
        raise UsageError(f"{where}: invalid value {value!r}") from None
    if action.choices is not None and converted not in action.choices:
        raise UsageError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted


def validate_suite_options(suite: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The suite's options as ``mlx-bench run SUITE`` would parse them, or UsageError with the key path."""
    try:
        get_suite(suite)
    except UsageError as exc:
        raise UsageError(f"{where}.name: {exc}") from None
    parser = run_parser(suite)
    actions = {a.dest: a for a in parser._actions if a.dest not in COMMON_KEYS}
    options = {dest: action.default for dest, action in actions.items()}
    for key, value in raw.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            known = ", ".join(sorted(actions)) or "none"
            raise UsageError(f"{where}.options.{key}: {suite} has no such option; options: {known}")
        options[dest] = _coerce(actions[dest], value, f"{where}.options.{key}")
    try:
        get_suite(suite).validate_options(options)
    except UsageError as exc:
        raise UsageError(f"{where}.options: {exc}") from None
    return options


def sweep(args: argparse.Namespace) -> int:
    from mlx_benchmarks.runner.execute import RunRequest
    from mlx_benchmarks.runner.multi import run_many
    from mlx_benchmarks.store import Store
    from mlx_benchmarks.sweep import load_sweep
    from mlx_benchmarks.targets.registry import TargetSpec

    plan = load_sweep(args.file, validate_suite_options)
    if args.ray is not None:
        return fleet_sweep(args, plan)
    if args.publish:
        raise UsageError("--publish goes with --ray (a local sweep publishes with `mlx-bench publish`)")
    location = store_location(args, writing=True)
    if is_remote(location):
        raise UsageError("runs are stored locally; publish them to a lake with `mlx-bench publish`")
    out = console()
    if plan.placed:
        out.print("note: `where` places cells on a fleet (--ray); here every cell runs on this machine", markup=False)
    out.print(f"sweep {plan.name}: {len(plan.runs)} run(s) × {len(plan.targets)} target(s)", markup=False)
    for run in plan.runs:
        shown = options_text(run.options)
        out.print(f"  {run.suite} {shown} on {', '.join(t.label for t in plan.targets)}", markup=False)
    if args.dry_run:
        return 0
    store = Store(location)
    code = 0
    for run in plan.runs:
        requests = [RunRequest(suite=run.suite, options=dict(run.options), seed=plan.seed,
                               skip_unavailable=plan.skip_unavailable, git_sha=args.git_sha,
                               spec=TargetSpec(target=t.target, model=t.model, serve=t.serve, timeout_s=t.timeout_s,
                                               api_key_env=t.api_key_env))
                    for t in plan.targets]
        title = f"{run.suite} · {matrix_text(run.options, [r.options for r in plan.runs])}"
        result = run_many(store, requests, out, as_json=args.json, labels=[t.label for t in plan.targets],
                          title=title)
        code = code or result
    return code


def fleet_sweep(args: argparse.Namespace, plan: Any) -> int:
    """``sweep --ray``: one Ray task per cell; the live table, then one comparison table per run."""
    from mlx_benchmarks.fleet.cells import plan_cells
    from mlx_benchmarks.fleet.driver import FleetRun
    from mlx_benchmarks.lake.location import parse_location
    from mlx_benchmarks.system import detect_git_sha

    if args.store:
        raise UsageError("--store: with --ray each node stores its runs in its own store ($MLX_BENCH_STORE there)")
    lake = parse_location(args.publish).url if args.publish else None
    address = args.ray or os.environ.get("RAY_ADDRESS") or "auto"
    cells = plan_cells(plan, git_sha=args.git_sha or detect_git_sha())
    out = err_console() if args.json and not args.dry_run else console()  # stdout holds the JSON alone
    out.print(f"sweep {plan.name}: {len(cells)} cell(s) on the fleet at {address}"
              + (f", published to {lake}" if lake else ""), markup=False, soft_wrap=True)
    for cell in cells:
        shown = options_text(cell.request.options)
        kind = "timed" if cell.timed else "untimed"
        out.print(f"  [{cell.index}] {cell.request.suite} {shown} on {cell.label} ({kind}; {cell.placement})",
                  markup=False, soft_wrap=True)
    if args.dry_run:
        return 0
    states = FleetRun(address=address, lake=lake, console=out, live=not args.json).run(cells)
    return report_fleet(states, plan, out, as_json=args.json)


def report_fleet(states: Sequence[Any], plan: Any, out: Any, *, as_json: bool) -> int:
    """The side-by-side table of every run (as a local sweep prints it), then each failed cell; exit code."""
    from pathlib import Path

    from mlx_benchmarks.runner.execute import RunReport
    from mlx_benchmarks.runner.multi import TargetRun, side_by_side
    from mlx_benchmarks.store import StoredRun

    if as_json:
        sys.stdout.write(json.dumps([{
            "cell": s.cell.index, "suite": s.cell.request.suite, "target": s.cell.label,
            "where": s.cell.placement, "status": s.status, "node": s.node, "attempts": s.attempts,
            "run_id": s.outcome.run_id if s.outcome else None, "error": s.error,
            "published": s.outcome.published if s.outcome else None,
            "envelope": s.outcome.envelope if s.outcome else None} for s in states], indent=2) + "\n")
    else:
        for run_index in range(len(plan.runs)):
            runs = []
            for s in (s for s in states if s.cell.run_index == run_index):
                done = s.outcome is not None and s.outcome.envelope is not None and s.outcome.run_id is not None
                report = (RunReport(StoredRun(s.outcome.run_id, Path(s.outcome.run_id), False), s.outcome.envelope,
                                    s.cell.run_key) if done else None)
                runs.append(TargetRun(s.cell.label, s.cell.request, report, error=s.error))
            if any(r.report for r in runs):
                options = plan.runs[run_index].options
                out.print(side_by_side(runs, title=f"{plan.runs[run_index].suite} · "
                                                   f"{matrix_text(options, [r.options for r in plan.runs])}"))
        for s in states:
            if s.error:
                out.print(f"[{s.cell.index}] {s.cell.label} {s.cell.request.suite}: {s.status}: {s.error}",
                          markup=False, soft_wrap=True)
    failed = [s.exit_code for s in states if s.exit_code]
    return failed[0] if failed else 0

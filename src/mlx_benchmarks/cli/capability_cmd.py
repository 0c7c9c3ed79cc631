"""``mlx-bench run capability-comparison``: several suites on several targets, side by side.

``--target A --target B --suites reasoning,tool-calling,throughput`` runs each named suite on each target, one
suite after another (targets in turn, as ``mlx-bench run SUITE --target A --target B`` does), storing each
suite's envelope and its ``capability-comparison`` twin (the suite the seed schema names), and prints one
side-by-side table per suite. Every other flag goes to each named suite that takes it (``--limit`` to the
quality suites, ``--prompt-lengths`` to throughput); a flag no named suite takes is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlx_benchmarks.cli.common import console, err_console, store_location
from mlx_benchmarks.cli.run_cmd import build_request, run_parser
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.suites.registry import available, get_suite

NAME = "capability-comparison"
DEFAULT_SUITES = "reasoning,tool-calling,throughput"


def help_parser() -> argparse.ArgumentParser:
    """The common run flags and --suites; each suite's own flags are in `mlx-bench run SUITE --help`."""
    parser = run_parser(None)
    parser.prog = f"mlx-bench run {NAME}"
    parser.usage = f"mlx-bench run {NAME} --target A [--target B ...] [--suites S,S] [flags of those suites]"
    parser.description = ("Run each named suite on each target, one suite after another, store each run and its "
                          f"{NAME} twin, and print one side-by-side table per suite. Every other flag goes to "
                          "each named suite that takes it; a flag none of them takes is refused.")
    parser.epilog = "A suite's own flags: mlx-bench run SUITE --help"
    for action in parser._actions:
        if action.dest == "suite":
            action.help = argparse.SUPPRESS
    parser.add_argument("--suites", default=DEFAULT_SUITES, metavar="SUITE,SUITE",
                        help=f"suites to run on every target (default {DEFAULT_SUITES}); their flags pass through")
    return parser


def split_suites(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the named suites, argv without ``--suites``); UsageError for an unknown or repeated suite."""
    rest, value = [], DEFAULT_SUITES
    tokens = iter(argv)
    for token in tokens:
        if token == "--suites":
            value = next(tokens, "")
        elif token.startswith("--suites="):
            value = token.partition("=")[2]
        else:
            rest.append(token)
    suites = [name.strip() for name in value.split(",") if name.strip()]
    choices = [name for name in available() if name != NAME]
    unknown = [name for name in suites if name not in choices]
    if not suites or unknown:
        raise UsageError(f"--suites: {unknown[0] if unknown else 'nothing'!r} is not a suite to compare; "
                         f"choose from: {', '.join(choices)}")
    if len(set(suites)) < len(suites):
        raise UsageError("--suites: each suite once")
    return suites, rest


def parse_each(suites: list[str], argv: list[str]) -> dict[str, argparse.Namespace]:
    """Each suite's own parse of the flags: a flag goes to every suite that takes it, and one none takes is refused."""
    parsed: dict[str, argparse.Namespace] = {}
    left_over: list[set[str]] = []
    for suite in suites:
        args, extra = run_parser(suite).parse_known_args([suite, *argv])
        parsed[suite] = args
        left_over.append({token.split("=", 1)[0] for token in extra})
    nobody = set.intersection(*left_over) if left_over else set()
    for index, token in enumerate(argv):
        if token.split("=", 1)[0] not in nobody:
            continue
        if token.startswith("-"):
            raise UsageError(f"{token.split('=', 1)[0]}: none of the suites {', '.join(suites)} takes this flag")
        if index == 0 or not argv[index - 1].startswith("-"):
            raise UsageError(f"unexpected argument {token!r} (name the suites with --suites)")
    return parsed


def run(ns: argparse.Namespace) -> int:
    from mlx_benchmarks.aio import run_coroutine
    from mlx_benchmarks.runner.multi import run_many, run_targets
    from mlx_benchmarks.store import Store

    argv: list[str] = list(ns.argv)
    if "-h" in argv or "--help" in argv:
        help_parser().parse_args(["--help"])
    suites, rest = split_suites(argv)
    parsed = parse_each(suites, rest)
    first = parsed[suites[0]]
    if first.resume:
        raise UsageError(f"{NAME} has no --resume: resume each suite's run by its own key (`mlx-bench run --resume KEY`)")
    location = store_location(first, writing=True)
    if is_remote(location):
        raise UsageError("runs are stored locally; publish them to a lake with `mlx-bench publish`")
    store = Store(location)
    requests = {suite: [build_request(parsed[suite], target) for target in first.target or [None]] for suite in suites}
    for suite, suite_requests in requests.items():  # every suite's flags are checked before any suite runs
        get_suite(suite).validate_options(suite_requests[0].options)
    progress = err_console() if first.json else console()
    codes: list[int] = []
    documents: list[dict[str, Any]] = []
    for suite, suite_requests in requests.items():
        if not first.json:
            progress.print(f"{NAME}: {suite} on {len(suite_requests)} target(s)", style="bold", markup=False)
            codes.append(run_many(store, suite_requests, progress, parallel=first.parallel_targets))
            continue
        runs = run_coroutine(run_targets(store, suite_requests, progress, parallel=first.parallel_targets))
        codes += [r.exit_code for r in runs if r.error]
        documents += [{"target": r.label, "suite": suite, "error": r.error,
                       "run_id": r.report.stored.run_id if r.report else None,
                       "comparison_run_id": r.comparison_run_id,
                       "envelope": r.report.envelope if r.report else None} for r in runs]
    if first.json:
        sys.stdout.write(json.dumps(documents, indent=2) + "\n")
    failed = [code for code in codes if code]
    return failed[0] if failed else 0

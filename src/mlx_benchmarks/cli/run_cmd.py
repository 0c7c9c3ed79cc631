"""``mlx-bench run SUITE``: measure a target and store the envelope.

Parsing is two-stage: the suite named on the command line adds its own flags, so
``mlx-bench run throughput --help`` shows exactly the flags that suite takes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, err_console, store_location
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.suites.registry import available, get_suite

COMMON_KEYS = {
    "suite", "target", "model", "serve", "server_pid", "store", "seed", "skip_unavailable", "trigger",
    "pr_number", "git_sha", "resume", "json", "request_timeout", "help",
    "idle_timeout", "parallel_targets", "share_mode", "max_response_mb", "max_buffered_mb",
    "output_path", "log_samples",
}
# lm-eval's spellings of flags we have (its --limit 0.1 and --tasks a,b are understood as it means them)
LM_EVAL_ALIASES = {"--num_fewshot": "--num-fewshot", "--output_path": "--output-path", "--log_samples": "--log-samples"}


def runnable_suites() -> list[str]:
    """Every name ``mlx-bench run`` takes: the registered suites and capability-comparison (cli/capability_cmd)."""
    return sorted([*available(), "capability-comparison"])


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run a benchmark suite against a target", add_help=False,
        description="mlx-bench run SUITE [flags]; `mlx-bench run SUITE --help` lists a suite's flags",
    )
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Flags every target-using command shares."""
    parser.add_argument("--target", action="append", metavar="URL|mlx:PATH|py:MOD:FACTORY", default=None,
                        help="where requests go (default: the embedded SmolLM2-135M-Instruct, or --model in "
                             "process); repeat it to compare several targets, one after another")
    parser.add_argument("--model", default=None,
                        help="with --target: the model to ask the server for (required when it serves several); "
                             "without: a local mlx-lm folder or a Hugging Face repo id in the local HF cache, "
                             "run in process")
    parser.add_argument("--serve", choices=("mlx", "llamacpp"), default=None,
                        help="start this server on 127.0.0.1 for the model, stop it afterwards")
    parser.add_argument("--server-pid", type=int, default=None, help="sample this PID's memory (an external server)")
    parser.add_argument("--request-timeout", type=float, default=600.0, help="seconds per request (default 600)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds of silence between streamed events that end a request (default 60; 0: off)")
    parser.add_argument("--max-retries", type=int, default=3,
                        help="quality and tool suites: retries of a request after 429/503, a reset or an idle "
                             "stream (default 3); speed suites never retry a timed request")
    parser.add_argument("--max-response-mb", default=None, metavar="MB",
                        help="HTTP targets: the most one answer may stream, in MiB (default 64)")
    parser.add_argument("--max-buffered-mb", default=None, metavar="MB",
                        help="HTTP targets: the most all answers in flight may hold together, in MiB (default "
                             "512); an answer that would go over it fails as data, with the reason")


def run_parser(suite: str | None) -> argparse.ArgumentParser:
    from mlx_benchmarks.cli.main import _Parser

    parser = _Parser(prog="mlx-bench run", description="Run a benchmark suite against a target.")
    parser.add_argument("suite", nargs="?", metavar="SUITE",
                        help=f"one of: {', '.join(runnable_suites())} (capability-comparison runs several)")
    add_target_options(parser)
    add_store_option(parser)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--skip-unavailable", action="store_true",
                        help="store a skipped envelope (exit 0) when the target cannot be reached")
    parser.add_argument("--trigger", choices=("schedule", "pr", "workflow_dispatch", "local"), default=None)
    parser.add_argument("--pr-number", type=int, default=None)
    parser.add_argument("--git-sha", default=None, help="override the detected commit")
    parser.add_argument("--resume", metavar="KEY", default=None,
                        help="resume an interrupted run by its run key (repeat its --target when the URL "
                             "carried credentials: they are never written to disk)")
    parser.add_argument("--max-consecutive-failures", default=None, metavar="N",
                        help="stop the run (exit 6, journal kept) after N failed requests in a row "
                             "(default 8 or twice the requests in flight, whichever is more)")
    parser.add_argument("--max-error-rate", default=None, metavar="PERCENT",
                        help="speed suites: a result whose measured requests failed more often than this is "
                             "tagged valid=false and left out of compare, trend and the leaderboard (default 5)")
    parser.add_argument("--parallel-targets", action="store_true",
                        help="run several HTTP --targets at once (never a speed suite on loopback targets)")
    parser.add_argument("--json", action="store_true", help="print the stored envelope as JSON")
    parser.add_argument("--output-path", metavar="PATH", default=None,
                        help="also write the envelope to PATH (a .json file, else a folder) and the samples beside "
                             "it as JSON Lines (lm-eval's --output_path)")
    parser.add_argument("--log-samples", action="store_true",
                        help="accepted for lm-eval users: samples are always stored (`mlx-bench samples RUN`)")
    if suite:
        get_suite(suite).add_arguments(parser)
    else:  # `run --tasks a,b` without a suite: the tasks name it (lm-eval style)
        parser.add_argument("--tasks", default=None, help=argparse.SUPPRESS)
    return parser


def lm_eval_spellings(argv: list[str]) -> list[str]:
    """lm-eval's underscore flags as ours (``--num_fewshot 5`` and ``--num_fewshot=5``)."""
    out = []
    for arg in argv:
        flag, equals, value = arg.partition("=")
        out.append(LM_EVAL_ALIASES.get(flag, flag) + equals + value if flag.startswith("--") else arg)
    return out


def tasks_value(argv: list[str]) -> str | None:
    """What ``--tasks`` was given (either spelling), or None."""
    for index, arg in enumerate(argv):
        if arg == "--tasks" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--tasks="):
            return arg.split("=", 1)[1]
    return None


def suite_for_tasks(value: str) -> str:
    """The one suite that runs every task of ``--tasks a,b`` (run without a suite, as lm-eval is); UsageError
    naming the command for each suite when they span several, or a task several suites run."""
    from mlx_benchmarks.suites.catalog import all_groups, where_is

    groups = all_groups()
    tasks = [t.strip() for t in value.split(",") if t.strip()]
    suites = {task: list(dict.fromkeys(g.suite for g in groups if task in g.tasks)) for task in tasks}
    unknown = [task for task, found in suites.items() if not found]
    if unknown:
        hint = where_is(unknown[0])
        raise UsageError(f"unknown task {unknown[0]!r}" + (f"; {hint}" if hint else "") +
                         " (`mlx-bench tasks` lists every task)")
    chosen = {found[0] for found in suites.values()}
    if len(chosen) == 1 and all(len(found) == 1 for found in suites.values()):
        return chosen.pop()
    shared = next(((task, found) for task, found in suites.items() if len(found) > 1), None)
    if shared is not None and len({s for found in suites.values() for s in found}) == len(shared[1]):
        raise UsageError(f"{shared[0]} is a task of {' and of '.join(shared[1])}: name the suite, "
                         f"e.g. mlx-bench run {shared[1][-1]} --tasks {value}")
    by_suite: dict[str, list[str]] = {}
    for task, found in suites.items():
        by_suite.setdefault(" or ".join(found), []).append(task)
    commands = "; ".join(f"mlx-bench run {suite} --tasks {','.join(names)}" for suite, names in by_suite.items())
    raise UsageError(f"--tasks {value} spans several suites, one run each: {commands}")


def parse(argv: list[str]) -> argparse.Namespace:
    from mlx_benchmarks.cli.main import did_you_mean

    argv = lm_eval_spellings(argv)
    first, _ = run_parser(None).parse_known_args([a for a in argv if a not in ("-h", "--help")])
    if first.suite is None and ("-h" in argv or "--help" in argv):
        run_parser(None).parse_args(["--help"])
    # a suite flag before any suite name reads as the suite (`run --tasks gsm8k --limit 5`): the tasks decide
    if first.suite not in available() and not first.resume and tasks_value(argv):
        suite = suite_for_tasks(str(tasks_value(argv)))  # lm-eval style: the tasks name their suite
        return run_parser(suite).parse_args([suite, *argv])
    if first.suite is not None and first.suite not in available():
        hint = did_you_mean(first.suite, runnable_suites())
        raise UsageError(f"unknown suite {first.suite!r}{hint or '; choose one of: ' + ', '.join(runnable_suites())}"
                         " (`mlx-bench tasks` lists what each runs)")
    return run_parser(first.suite).parse_args(argv)


def build_request(args: argparse.Namespace, target: str | None) -> Any:
    from mlx_benchmarks.runner.execute import RunRequest
    from mlx_benchmarks.targets.registry import TargetSpec

    if args.idle_timeout < 0 or args.max_retries < 0:
        raise UsageError("--idle-timeout and --max-retries cannot be negative (--idle-timeout 0 turns it off)")
    from mlx_benchmarks.suites.failure_policy import consecutive_limit, max_error_rate
    from mlx_benchmarks.targets.response_budget import parse_mb

    consecutive_limit(args.max_consecutive_failures)  # a bad value is exit 2 before any work
    max_error_rate(args.max_error_rate)
    per_answer, in_flight = (None if value is None else parse_mb(value, flag) for flag, value in
                             (("--max-response-mb", args.max_response_mb), ("--max-buffered-mb", args.max_buffered_mb)))
    spec = TargetSpec(target=target, model=args.model, serve=args.serve, server_pid=args.server_pid,
                      timeout_s=args.request_timeout, idle_timeout_s=args.idle_timeout or None,
                      max_response_mb=per_answer, max_buffered_mb=in_flight)
    options = {k: v for k, v in vars(args).items() if k not in COMMON_KEYS}
    return RunRequest(suite=args.suite, spec=spec, options=options, seed=args.seed,
                      skip_unavailable=args.skip_unavailable, trigger=args.trigger, pr_number=args.pr_number,
                      git_sha=args.git_sha)


def print_envelope(envelope: dict[str, Any], run_id: str, created: bool) -> None:
    from mlx_benchmarks.cli.run_output import print_run_summary

    print_run_summary(console(), envelope, run_id, created)


def run(ns: argparse.Namespace) -> int:
    from mlx_benchmarks.runner.execute import Runner, load_resume, run_sync
    from mlx_benchmarks.store import Store

    if tasks_value(lm_eval_spellings(ns.argv)) == "list":  # lm-eval's `--tasks list`
        from mlx_benchmarks.cli import tasks_cmd

        suite = next((a for a in ns.argv if not a.startswith("-") and a in available()), None)
        tasks_cmd.print_tasks(tasks_cmd.rows(suite), "table")
        return 0
    args = parse(ns.argv)
    destination = None
    if args.output_path:
        from mlx_benchmarks.cli.run_export import check_destination

        destination = check_destination(args.output_path)
    location = store_location(args, writing=True)
    if is_remote(location):
        raise UsageError("runs are stored locally; publish them to a lake with `mlx-bench publish`")
    store = Store(location)
    targets = args.target or [None]
    if args.resume:
        if args.target and len(args.target) > 1:
            raise UsageError("--resume takes at most one --target (the run's own URL, with its credentials)")
        requests = [load_resume(store, args.resume, args.target[0] if args.target else None)]
    elif not args.suite:
        raise UsageError("name a suite to run (one of: " + ", ".join(runnable_suites()) + "), or --resume KEY")
    else:
        requests = [build_request(args, target) for target in targets]
        get_suite(args.suite).validate_options(requests[0].options)
    # with --json, stdout carries the JSON alone; progress goes to stderr
    progress = err_console() if args.json else console()
    if len(requests) > 1:
        from mlx_benchmarks.runner.multi import run_many

        if destination is not None or args.log_samples:
            raise UsageError("--output-path and --log-samples take one --target (one run); "
                             "`mlx-bench samples RUN` exports any stored run")
        code: int = run_many(store, requests, progress, as_json=args.json, parallel=args.parallel_targets)
        return code
    report = run_sync(Runner(store, progress), requests[0], args.resume)
    if args.json:
        sys.stdout.write(json.dumps(report.envelope, indent=2) + "\n")
    else:
        print_envelope(report.envelope, report.stored.run_id, report.stored.created)
    run_id = report.stored.run_id
    notes = err_console() if args.json else console()
    if destination is not None:
        from mlx_benchmarks.cli.run_export import export

        written = export(destination, run_id, report.envelope, store.samples(run_id))
        notes.print(f"written: {written[0]} and {written[1]}", markup=False, soft_wrap=True, highlight=False)
    if args.log_samples:
        notes.print(f"samples are always stored: `mlx-bench samples {run_id}` shows them "
                    f"({store.runs_dir / run_id / 'samples.parquet'})", markup=False, soft_wrap=True, highlight=False)
    return 0

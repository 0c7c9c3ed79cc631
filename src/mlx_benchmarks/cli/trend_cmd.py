"""``mlx-bench trend``: flag change points in each model × suite × metric × configuration history."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from mlx_benchmarks.cli.common import add_store_option, console, open_store, print_json
from mlx_benchmarks.cli.compare_cmd import parse_threshold
from mlx_benchmarks.errors import UsageError

DIRECTION_STYLES = {"regressed": "bold red", "improved": "green", "changed": "yellow"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trend",
        help="find change points in metrics over time",
        description="Binary segmentation with a CUSUM statistic and a seeded permutation test over each "
        "stored series (see docs/compare.md).",
    )
    add_store_option(parser)
    parser.add_argument("--model", help="exact model name or a case-insensitive substring")
    parser.add_argument("--suite")
    parser.add_argument("--metric", metavar="NAME", help="a result name or a metric name")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="permutation-test level (default 0.01, which needs at least 10 runs per series)")
    parser.add_argument("--min-shift", type=parse_threshold, default=0.05, metavar="PCT",
                        help="smallest relative level shift that counts (default 5%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="list series without change points too")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--include-invalid", action="store_true",
                        help="also use results tagged valid=false (more failed requests than --max-error-rate)")
    parser.set_defaults(func=run_trend)


def too_short_line(series: list[Any], alpha: float) -> str | None:
    """One line on the series too short to reach ``alpha``, or None when every series was tested."""
    short = [s for s in series if not s.tested]
    if not short:
        return None
    needed = short[0].min_runs
    most = max(len(s.values) for s in short)
    return (f"{len(short)} of {len(series)} series too short to test: a change can reach alpha {alpha:g} only "
            f"with {needed} runs or more (the longest has {most}); they are not 'no change', just not tested")


def run_trend(args: argparse.Namespace) -> int:
    from mlx_benchmarks.compare.trend import trend

    try:
        series = trend(open_store(args), model=args.model, suite=args.suite, metric=args.metric,
                       alpha=args.alpha, min_shift=args.min_shift, seed=args.seed,
                       include_invalid=args.include_invalid)
    except ValueError as exc:
        raise UsageError(f"--alpha: {exc}") from None
    if args.json:
        print_json([s.to_json() for s in series])
        return 0
    flagged = [s for s in series if s.change_points]
    shown = series if args.all else flagged
    table = Table(title=f"{len(flagged)} of {len(series)} series changed", title_justify="left")
    for column in ("model", "suite", "result", "metric", "runs", "latest", "change points"):
        table.add_column(column, overflow="fold")
    for s in shown:
        points = "; ".join(
            f"[{DIRECTION_STYLES[c.direction]}]{c.direction}[/] at {c.run_id} "
            f"({c.before:.4g} → {c.after:.4g}, p={c.p_value:.3f})"
            for c in s.change_points
        ) or ("—" if s.tested else f"not tested: {len(s.values)} of {s.min_runs} runs needed")
        name = f"{s.name} [{s.label}]" if s.label else s.name
        table.add_row(s.model, s.suite, name, s.metric, str(len(s.values)), f"{s.values[-1]:.4g} {s.unit}", points)
    out = console()
    out.print(table)
    note = too_short_line(series, args.alpha)
    if note:
        out.print(note, markup=False)
    return 0

"""``mlx-bench compare``: two runs side by side with error bars, and a regression gate for CI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, open_store, print_json
from mlx_benchmarks.cli.formats import print_sections
from mlx_benchmarks.errors import RegressionFound, UsageError
from mlx_benchmarks.views.run_summary import Section

# --markdown given without FILE: $GITHUB_STEP_SUMMARY inside GitHub Actions, else stdout
MARKDOWN_AUTO = ""
FORMATS = ("table", "json", "csv", "md")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two runs metric by metric, with confidence intervals",
        description="Compare baseline run A with candidate run B (ids or unique prefixes), or pick them with "
        "--model/--suite/--latest. Results pair by name, metric and configuration (prompt and generated "
        "tokens, concurrency, depth, weights layout, device, quantization, dataset, limit, scoring, ...); the "
        "rest is listed with the reason, and nothing comparable exits 2. A change is only called a regression "
        "when it is significant and at least --threshold in size (docs/compare.md).",
    )
    add_store_option(parser)
    parser.add_argument("run_a", nargs="?", metavar="A", help="baseline run id or unique prefix")
    parser.add_argument("run_b", nargs="?", metavar="B", help="candidate run id or unique prefix")
    parser.add_argument("--model", help="select runs of this model (exact or case-insensitive substring)")
    parser.add_argument("--suite", help="select runs of this suite")
    parser.add_argument("--latest", type=int, metavar="N", default=None,
                        help="compare the N-th newest matching run (baseline) with the newest (default 2)")
    parser.add_argument("--threshold", type=parse_threshold, default=0.05, metavar="PCT",
                        help="smallest relative change that counts, e.g. 5%% or 0.05 (default 5%%)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 5 when a significant regression beyond the threshold exists")
    parser.add_argument("--markdown", nargs="?", const=MARKDOWN_AUTO, default=None, metavar="FILE",
                        help="write a Markdown table to FILE ('-' for stdout); without FILE, append to "
                        "$GITHUB_STEP_SUMMARY when set, else print it")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON (same as --format json)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="what to print: a table (default), json, csv (one line per paired result) or md")
    parser.add_argument("--include-invalid", action="store_true",
                        help="also compare results tagged valid=false (more failed requests than --max-error-rate)")
    parser.add_argument("--ignore-config", action="append", default=[], metavar="KEY",
                        help="pair results across this configuration key on purpose (e.g. weights_layout to "
                        "compare a 4-bit run with a float32 one); repeat or comma-separate")
    parser.set_defaults(func=run_compare)


def parse_threshold(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05."""
    value_text = text.strip()
    percent = value_text.endswith("%")
    try:
        value = float(value_text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a threshold such as 5% or 0.05") from None
    if percent:
        value /= 100.0
    elif value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} is ambiguous; write {value:g}% or {value / 100:g}")
    if value < 0:
        raise argparse.ArgumentTypeError("the threshold must not be negative")
    return value


def ignored_keys(values: list[str]) -> list[str]:
    """The ``--ignore-config`` keys, checked against the configuration keys."""
    from mlx_benchmarks.compare.config_key import check_ignorable

    try:
        return check_ignorable(key.strip() for value in values for key in value.split(",") if key.strip())
    except ValueError as exc:
        raise UsageError(f"--ignore-config: {exc}") from None


def output_format(args: argparse.Namespace) -> str:
    """The ``--format``, with ``--json`` as its older spelling."""
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} ask for two formats; give one")
    return "json" if args.json else (args.format or "table")


def pick_runs(args: argparse.Namespace, store: Any) -> tuple[str, str]:
    """The (baseline, candidate) ids from positional ids or selectors."""
    from mlx_benchmarks.compare.select import latest_pair

    if args.run_a and args.run_b:
        if args.latest or args.model or args.suite:
            raise UsageError("give two run ids, or --model/--suite/--latest, not both")
        return str(args.run_a), str(args.run_b)
    if args.run_a:
        raise UsageError("give a second run id (B), or select runs with --model/--suite/--latest")
    return latest_pair(store, model=args.model, suite=args.suite, latest=args.latest or 2)


def markdown_destination(option: str, env: dict[str, str] | None = None) -> str | None:
    """Where ``--markdown`` writes: a file path, or None for stdout."""
    env = dict(os.environ) if env is None else env
    if option == "-":
        return None
    if option == MARKDOWN_AUTO:
        return env.get("GITHUB_STEP_SUMMARY") or None
    return option


def write_markdown(text: str, destination: str | None, *, append: bool) -> None:
    if destination is None:
        sys.stdout.write(text)
        return
    try:
        with open(Path(destination), "a" if append else "w", encoding="utf-8") as handle:
            handle.write(text + ("\n" if append else ""))
    except OSError as exc:
        raise UsageError(f"cannot write Markdown to {destination}: {exc.strerror or exc}") from None


def comparison_section(comparison: Any) -> Section:
    """The paired results as one table: a result as a reader names it (``decode tok/s at 128 prompt tokens``,
    with the configuration keys that tell it from its namesakes), A, B, change, interval, p and verdict.
    A narrow terminal loses the interval, then p, before anything else."""
    from mlx_benchmarks.compare.markdown import format_change, format_interval, format_p, format_value
    from mlx_benchmarks.views.labels import result_label, unit_label

    level = round(comparison.confidence * 100)
    rows = []
    for row in comparison.rows:
        label = result_label(row.name, row.metric)
        if row.label and row.label != row.name:  # ``name [gen_tokens=8]``: keep what tells namesakes apart
            label += " " + row.label[len(row.name):].strip()
        unit = unit_label(row.unit)
        rows.append((label, format_value(row.a, unit), format_value(row.b, unit), format_change(row),
                     format_interval(row), format_p(row.p_value), row.verdict))
    return Section("Paired results", ("result", "A", "B", "change", f"{level}% CI", "p", "verdict"), rows,
                   frozenset({1, 2, 3, 5}), no_wrap=frozenset({6}), drop_order=(4, 5, 3))


def print_table(comparison: Any, store: Any | None = None) -> None:
    from mlx_benchmarks.compare.markdown import not_paired_lines, summary_line

    out = console()
    # the ids are long: on their own lines they leave the table's width to the numbers
    out.print(f"A (baseline)  {comparison.run_a}\nB (candidate) {comparison.run_b}", markup=False, soft_wrap=True)
    sections = [comparison_section(comparison)]
    if store is not None:
        from mlx_benchmarks.views.speed_compare import speed_comparison

        speed = speed_comparison(store.envelope(comparison.run_a), store.envelope(comparison.run_b))
        if speed is not None:
            sections.append(speed)
    print_sections(out, sections)
    out.print(summary_line(comparison), markup=False)
    for line in not_paired_lines(comparison):
        out.print(line, markup=False)


def run_compare(args: argparse.Namespace) -> int:
    from mlx_benchmarks.compare.diff import compare_runs

    fmt = output_format(args)
    ignore = ignored_keys(args.ignore_config)
    destination = markdown_destination(args.markdown) if args.markdown is not None else None
    markdown_to_stdout = args.markdown is not None and destination is None
    if fmt != "table" and markdown_to_stdout:
        raise UsageError(f"--format {fmt} and --markdown both want stdout; give --markdown a FILE")
    store = open_store(args)
    run_a, run_b = pick_runs(args, store)
    comparison = compare_runs(store, run_a, run_b, threshold=args.threshold, seed=args.seed, ignore_config=ignore,
                              include_invalid=args.include_invalid)
    comparison.check_comparable()  # an empty table would read as "no regression"
    if args.markdown is not None:
        # the step summary collects every step's output, so it is appended to, never replaced
        write_markdown(comparison.to_markdown(), destination, append=args.markdown == MARKDOWN_AUTO)
    print_comparison(comparison, fmt, quiet_table=markdown_to_stdout, store=store)
    if args.fail_on_regression and comparison.regressions:
        worst = ", ".join(f"{r.name}/{r.metric} {r.rel_change * 100:+.1f}%" if r.rel_change is not None
                          else f"{r.name}/{r.metric}" for r in comparison.regressions)
        count = len(comparison.regressions)
        raise RegressionFound(f"{count} significant regression{'s' if count != 1 else ''} beyond "
                              f"{args.threshold * 100:g}%: {worst}")
    return 0


def print_comparison(comparison: Any, fmt: str, *, quiet_table: bool, store: Any | None = None) -> None:
    """Print in the chosen format; CSV has no room for the unpaired results, so they go to stderr."""
    if fmt == "json":
        print_json(comparison.to_json())
    elif fmt == "md":
        sys.stdout.write(comparison.to_markdown())
    elif fmt == "csv":
        from mlx_benchmarks.compare.csv_format import comparison_csv
        from mlx_benchmarks.compare.markdown import not_paired_lines

        sys.stdout.write(comparison_csv(comparison))
        for line in not_paired_lines(comparison):
            print(line, file=sys.stderr)
    elif not quiet_table:
        print_table(comparison, store)

"""``mlx-bench runs`` and ``mlx-bench show``: browse the store.

``runs`` lists one line per run at 80 columns: a short id (a unique prefix, accepted wherever a run id is),
suite, model, a headline figure and the key parameters. ``show`` prints a run's summary tables with their key
tags; the remaining tags are folded behind ``--tags``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, open_store, print_json
from mlx_benchmarks.cli.formats import (
    add_format_option,
    chosen_format,
    csv_of_records,
    markdown,
    print_sections,
)
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.views.run_summary import Section

RUN_COLUMNS = ("id", "suite", "model", "headline", "parameters")
TABLE_ROWS = 50  # a table of every run of a large store is slow to draw and scrolls away; --limit asks for more
MIN_SHORT_ID = len("run-20260101T000000")  # as views.runs_listing.MIN_SHORT_ID (not imported: DuckDB loads with it)
RESULT_FIELDS = ("name", "metric", "value", "unit", "duration_seconds", "prompt_tokens_per_second",
                 "decode_tokens_per_second", "total_tokens_per_second", "first_token_latency_ms", "peak_rss_mb")


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="list stored runs")
    add_store_option(runs)
    runs.add_argument("--suite")
    runs.add_argument("--model", help="exact model name or a case-insensitive substring")
    runs.add_argument("--since", metavar="DATE", help="ISO date or date-time, e.g. 2026-11-01")
    runs.add_argument("--limit", type=int, default=None,
                      help=f"newest N runs (table and md: {TABLE_ROWS} unless given; json and csv: all)")
    runs.add_argument("--twins", action="store_true",
                      help="also list the capability-comparison copy a multi-target run stores of each run")
    runs.add_argument("--incomplete", action="store_true",
                      help="list interrupted runs' journals instead (resumable, in use or unusable)")
    add_format_option(runs)
    runs.set_defaults(func=run_runs)

    show = subparsers.add_parser("show", help="print one stored run's envelope")
    add_store_option(show)
    show.add_argument("run", metavar="RUN", help="run id or a unique prefix of it (as `runs` prints)")
    show.add_argument("--tags", action="store_true", help="also list every tag of every result")
    add_format_option(show)
    show.set_defaults(func=run_show)


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {value!r} is not an ISO date such as 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def _model_label(model: str) -> str:
    """The model's own name; the organisation before a slash is in --format json/csv."""
    return model.rsplit("/", 1)[-1] if "/" in model.rstrip("/") else model


def runs_section(rows: list[dict[str, Any]], matched: int | None = None) -> Section:
    """One row per run; a suite or model every row shares moves into the title instead of a column.

    Ids never crop (a long one wraps), the model is cut short, errors follow the headline.
    """
    same = {key: values.pop() for key in ("suite", "model") if len(values := {row[key] for row in rows}) == 1}
    columns = [c for c in RUN_COLUMNS if c not in same]

    def cell(row: dict[str, Any], column: str) -> str:
        if column == "id":
            return str(row["short_id"])
        if column == "model":
            return _model_label(row["model"])
        if column == "headline" and row["n_errors"]:
            return f"{row['headline']} ({row['n_errors']} err)"
        return str(row[column])

    total = len(rows) if matched is None else matched
    count = f"{total:,} run{'' if total == 1 else 's'}" if total == len(rows) else f"newest {len(rows)} of {total:,} runs"
    title = " · ".join([count, *same.values()])
    index = {c: i for i, c in enumerate(columns)}
    # ids of the usual length stay on one line; a longer one (runs stored in the same second) may wrap
    # (rich would crop a column narrower than a minimum width, so the id is kept whole or allowed to fold)
    whole = [index[c] for c in ("suite",) if c in index] + \
        ([0] if all(len(row["short_id"]) <= MIN_SHORT_ID for row in rows) else [])
    return Section(title, tuple(columns), [tuple(cell(row, c) for c in columns) for row in rows],
                   no_wrap=frozenset(whole), clip={index["model"]: 14} if "model" in index else {})


def run_runs(args: argparse.Namespace) -> int:
    if args.incomplete:
        from mlx_benchmarks.cli.gc_cmd import run_incomplete

        return run_incomplete(args)
    from mlx_benchmarks.views.runs_listing import runs_page

    fmt = chosen_format(args)
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    limit = args.limit if args.limit is not None or fmt in ("json", "csv") else TABLE_ROWS
    page = runs_page(open_store(args), suite=args.suite, model=args.model, since=parse_since(args.since),
                     limit=limit, twins=args.twins)
    rows = records = page.rows
    if fmt == "json":
        print_json(records)
    elif fmt == "csv":
        sys.stdout.write(csv_of_records(records, empty_columns=("id", "timestamp", "suite", "model", "short_id",
                                                                 "headline", "parameters")))
    elif fmt == "md":
        sys.stdout.write(markdown([runs_section(rows, page.matched)], headings=False))
        sys.stdout.write("".join(f"\n_{line}_\n" for line in _left_out(page.matched - len(rows), page.hidden_twins)))
    else:
        out = console()
        print_sections(out, [runs_section(rows, page.matched)])
        if rows:
            out.print("ids are unique prefixes: `mlx-bench show ID` (also compare, --resume ...)", style="dim",
                      markup=False, highlight=False)
        for line in _left_out(page.matched - len(rows), page.hidden_twins):
            out.print(line, style="dim", markup=False, highlight=False)
    return 0


def _left_out(older: int, twins: int) -> list[str]:
    """What the table does not show, and the flag that shows it."""
    lines = []
    if older > 0:
        lines.append(f"{older:,} older run{'' if older == 1 else 's'} not shown: --limit N shows more")
    if twins:
        lines.append(f"{twins:,} capability-comparison twin{'' if twins == 1 else 's'} of multi-target runs "
                     "not shown: --twins lists them")
    return lines


def _header_lines(run_id: str, envelope: dict[str, Any]) -> list[str]:
    system = envelope.get("system", {})
    stamp = str(envelope.get("timestamp", ""))[:19].replace("T", " ") + " UTC"
    lines = [run_id, f"{envelope['suite']} · {envelope['model']}",
             f"{stamp} · git {str(envelope.get('git_sha', ''))[:12]} · {envelope.get('trigger', '')}"
             + (f" #{envelope['pr_number']}" if envelope.get("pr_number") else "")]
    machine = [str(system.get(key)) for key in ("os", "chip") if system.get(key)]
    if system.get("memory_gb"):
        machine.append(f"{system['memory_gb']} GB")
    settings = [f"{k} {v}" for k, v in (envelope.get("gen_kwargs") or {}).items()]
    if "seed" in envelope:
        settings.append(f"seed {envelope['seed']}")
    if envelope.get("quantization"):
        settings.append(str(envelope["quantization"]))
    lines += [" · ".join(part) for part in (machine, settings) if part]
    if envelope.get("skipped"):
        lines.append("skipped: the target was not available")
    return lines


def tag_sections(results: list[dict[str, Any]]) -> list[Section]:
    from mlx_benchmarks.views.runs_listing import split_tags

    shared, varying = split_tags(results)
    sections = []
    if shared:
        sections.append(Section("Tags on every result", ("tag", "value"), sorted(shared.items())))
    if varying:
        rows = [(label, ", ".join(f"{k}={v}" for k, v in tags.items())) for label, tags in varying]
        sections.append(Section("Tags per result", ("result", "tags"), rows))
    return sections


def _result_records(run_id: str, envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat record per result: its fields, then its tags as ``tag_<key>`` columns."""
    return [{"run_id": run_id, **{field: result.get(field) for field in RESULT_FIELDS},
             **{f"tag_{key}": value for key, value in sorted((result.get("tags") or {}).items())}}
            for result in envelope.get("results", [])]


def run_show(args: argparse.Namespace) -> int:
    from mlx_benchmarks.cli.run_output import print_errors
    from mlx_benchmarks.views.run_summary import summary_sections

    fmt = chosen_format(args)
    store = open_store(args)
    run_id = store.resolve(args.run)
    envelope = store.envelope(run_id)
    if fmt == "json":
        sys.stdout.write(json.dumps(envelope, indent=2) + "\n")
        return 0
    if fmt == "csv":
        sys.stdout.write(csv_of_records(_result_records(run_id, envelope)))
        return 0
    results = list(envelope.get("results", []))
    sections = summary_sections(envelope) + (tag_sections(results) if args.tags else [])
    if fmt == "md":
        header = _header_lines(run_id, envelope)
        errors = [f"- error: {error}" for error in envelope.get("errors", [])]
        body = [f"## {header[0]}", "", *(f"{line}  " for line in header[1:]), ""]
        sys.stdout.write("\n".join(body) + "\n" + markdown(sections) + ("\n" + "\n".join(errors) + "\n" if errors else ""))
        return 0
    out = console()
    header = _header_lines(run_id, envelope)
    out.print(header[0], style="bold", markup=False, highlight=False, soft_wrap=True)
    for line in header[1:]:
        out.print(line, markup=False, highlight=False)
    out.print()
    print_sections(out, sections)
    print_errors(out, list(envelope.get("errors", [])))
    n_tags = len({key for result in results for key in (result.get("tags") or {})})
    if n_tags and not args.tags:
        out.print(f"{n_tags} kinds of tag folded: add --tags to list them", style="dim", markup=False,
                  highlight=False)
    return 0

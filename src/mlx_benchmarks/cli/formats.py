"""``--format table|json|csv|md`` for the listing commands, and the one way a ``Section`` becomes each format.

``--json`` stays as the short form of ``--format json``. Tables are rich tables that fit 80 columns (cells
wrap instead of growing the table); Markdown is one pipe table per section; CSV is one header and rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.views.run_summary import Section

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

FORMATS = ("table", "json", "csv", "md")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="table (default), json, csv or md (Markdown pipe tables)")
    parser.add_argument("--json", action="store_true", help="same as --format json")


def chosen_format(args: argparse.Namespace) -> str:
    """The format asked for; ``--json`` with another ``--format`` is a contradiction, not a guess."""
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} ask for two formats; give one")
    return "json" if args.json else str(args.format or "table")


def rich_table(section: Section, *, title: bool = True) -> Table:
    """A compact rich table: a rule under the header, no outer box, numbers right-aligned."""
    from rich import box
    from rich.table import Table

    table = Table(title=section.title if title else None, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for index, column in enumerate(section.columns):
        clipped = index in section.clip
        table.add_column(column, justify="right" if index in section.numeric else "left",
                         overflow="ellipsis" if clipped else "fold", max_width=section.clip.get(index),
                         no_wrap=clipped or index in section.no_wrap)
    for row in section.rows:
        table.add_row(*row)
    return table


def print_sections(out: Console, sections: Sequence[Section]) -> None:
    """Each section as a table, its notes dimmed under it, a blank line between sections."""
    for index, section in enumerate(sections):
        if index:
            out.print()
        out.print(rich_table(section))
        for note in section.notes:
            out.print(f"  {note}", style="dim", markup=False, highlight=False)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(sections: Sequence[Section], *, headings: bool = True) -> str:
    """One GitHub pipe table per section, numbers right-aligned, notes as italic lines."""
    parts = []
    for section in sections:
        lines = [f"### {section.title}", ""] if headings else []
        lines.append("| " + " | ".join(_md_cell(c) for c in section.columns) + " |")
        lines.append("| " + " | ".join("---:" if i in section.numeric else "---" for i in range(len(section.columns))) + " |")
        lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in section.rows]
        lines += [""] + [f"_{_md_cell(note)}_" for note in section.notes] if section.notes else []
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV with a header; None becomes an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return buffer.getvalue()


def csv_of_records(records: Sequence[dict[str, Any]], empty_columns: Sequence[str] = ()) -> str:
    """CSV of dicts: the union of their keys, in first-seen order (``empty_columns`` heads an empty list)."""
    columns: list[str] = [] if records else list(empty_columns)
    for record in records:
        columns += [key for key in record if key not in columns]
    return csv_text(columns, [[record.get(column) for column in columns] for record in records])


def write(text: str) -> None:
    sys.stdout.write(text)

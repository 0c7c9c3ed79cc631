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
from dataclasses import replace
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


def _kept_whole(section: Section, index: int) -> bool:
    return index in section.numeric or (index in section.no_wrap and index not in section.clip)


def rich_table(section: Section, *, title: bool = True) -> Table:
    """A compact rich table: a rule under the header, no outer box, numbers right-aligned.

    A number never breaks across lines: numeric columns (and those ``no_wrap`` names) are as wide as their
    widest cell; text columns fold at spaces.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=section.title if title else None, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for index, column in enumerate(section.columns):
        clipped = index in section.clip
        whole = _kept_whole(section, index)
        widest = max((len(row[index]) for row in section.rows), default=0)
        table.add_column(column, justify="right" if index in section.numeric else "left",
                         overflow="ellipsis" if clipped else "fold", max_width=section.clip.get(index),
                         min_width=widest if whole else None, no_wrap=clipped or whole)
    for row in section.rows:
        table.add_row(*(Text(cell) for cell in row))  # a cell is text, never markup: ``name [gen_tokens=8]``
    return table


def _narrowest(out: Console, section: Section) -> int:
    from rich.measure import Measurement

    return Measurement.get(out, out.options.update(max_width=10**6), rich_table(section, title=False)).minimum


def _keep(section: Section, kept: list[int]) -> Section:
    """``section`` with only the columns ``kept`` (indexes renumbered)."""
    where = {old: new for new, old in enumerate(kept)}
    return replace(section, columns=tuple(section.columns[i] for i in kept),
                   rows=[tuple(row[i] for i in kept) for row in section.rows],
                   numeric=frozenset(where[i] for i in section.numeric if i in where),
                   no_wrap=frozenset(where[i] for i in section.no_wrap if i in where),
                   clip={where[i]: w for i, w in section.clip.items() if i in where}, drop_order=())


def fitted(out: Console, section: Section) -> Section:
    """``section`` narrow enough for ``out`` without breaking a number or a word: the columns of lowest priority
    (``Section.drop_order``, by default the rightmost first, never the first) leave until it fits, and a note
    under the table names them."""
    width = out.width
    if not section.rows or _narrowest(out, section) <= width:
        return section
    order = list(section.drop_order or range(len(section.columns) - 1, 0, -1))
    kept = list(range(len(section.columns)))
    dropped: list[str] = []
    while order and _narrowest(out, _keep(section, kept)) > width:
        gone = order.pop(0)
        kept.remove(gone)
        dropped.append(section.columns[gone].replace("\n", " "))
    note = (f"not shown at {width} columns: {', '.join(dropped)} (a wider terminal, or --format csv/json, "
            "has every column)")
    narrowed = _keep(section, kept)
    return replace(narrowed, notes=[*section.notes, note])


def print_sections(out: Console, sections: Sequence[Section]) -> None:
    """Each section as a table fitted to the console, its notes dimmed under it, a blank line between."""
    for index, section in enumerate(sections):
        if index:
            out.print()
        shown = fitted(out, section)
        out.print(rich_table(shown))
        for note in shown.notes:
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

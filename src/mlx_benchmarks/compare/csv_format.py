"""Render a Comparison as CSV: one line per paired result, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from mlx_benchmarks.compare.config_key import config_label
from mlx_benchmarks.compare.markdown import row_names

if TYPE_CHECKING:
    from mlx_benchmarks.compare.diff import Comparison

COLUMNS = ("result", "name", "metric", "config", "unit", "a", "b", "abs_change", "rel_change", "ci_low", "ci_high",
           "p_value", "method", "verdict", "n")


def comparison_csv(comparison: Comparison) -> str:
    """A header and one line per row; ``config`` is the shared configuration as ``key=value, ...``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row, shown in zip(comparison.rows, row_names(comparison.rows), strict=True):
        values = row.to_json()
        writer.writerow([shown, row.name, row.metric, config_label(row.config), row.unit,
                         *("" if values[k] is None else values[k] for k in COLUMNS[5:])])
    return out.getvalue()

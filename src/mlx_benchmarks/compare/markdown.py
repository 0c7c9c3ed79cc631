"""Render a Comparison as GitHub-flavoured Markdown (a PR comment or ``$GITHUB_STEP_SUMMARY``).

The cell formatters are public so the terminal table and the HTML report show numbers the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_benchmarks.compare.diff import Comparison, ComparisonRow

VERDICT_MARKS = {
    "regressed": "🔴 regressed",
    "improved": "🟢 improved",
    "changed": "🟡 changed",
    "no change": "⚪ no change",
    "no error bars": "❔ no error bars",
}


def format_value(value: float, unit: str = "") -> str:
    """A value with 4 significant digits and its unit."""
    text = f"{value:.4g}"
    return f"{text} {unit}".strip() if unit else text


def format_change(row: ComparisonRow) -> str:
    """Relative change as a signed percentage, or the absolute change when the baseline is 0."""
    if row.rel_change is None:
        return f"{row.abs_change:+.4g}"
    return f"{row.rel_change * 100:+.1f}%"


def format_interval(row: ComparisonRow) -> str:
    """The interval on the relative change, e.g. ``-23.1% … -17.0%``; an em dash when there is none."""
    if row.ci_low is None or row.ci_high is None:
        return "—"
    return f"{row.ci_low * 100:+.1f}% … {row.ci_high * 100:+.1f}%"


def format_p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def row_names(rows: Sequence[ComparisonRow]) -> list[str]:
    """Each row's result name, with the configuration keys that tell it from its namesakes in either run."""
    return [row.label or row.name for row in rows]


def not_paired_lines(comparison: Comparison) -> list[str]:
    """``Not paired: name/metric: gen_tokens 8 vs 16`` and ``Only in A: ...`` lines (empty when all paired)."""
    lines = [f"Not paired: {item}" for item in comparison.unpaired]
    if comparison.only_a:
        lines.append(f"Only in A: {', '.join(comparison.only_a)}")
    if comparison.only_b:
        lines.append(f"Only in B: {', '.join(comparison.only_b)}")
    if comparison.ignored_config:
        lines.append(f"Paired across: {', '.join(comparison.ignored_config)} (--ignore-config)")
    return lines


def _cell(text: str) -> str:
    # a pipe would end the cell early; a newline would end the table
    return text.replace("|", "\\|").replace("\n", " ")


def summary_line(comparison: Comparison) -> str:
    """``1 regression, 0 improvements, 3 unchanged, 1 without error bars``."""
    counts: dict[str, int] = {}
    for row in comparison.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    regressions = counts.get("regressed", 0)
    parts = [
        f"{regressions} regression{'s' if regressions != 1 else ''}",
        f"{counts.get('improved', 0)} improved",
        f"{counts.get('no change', 0)} unchanged",
    ]
    if counts.get("changed"):
        parts.append(f"{counts['changed']} changed (direction unknown)")
    if counts.get("no error bars"):
        parts.append(f"{counts['no error bars']} without error bars")
    return ", ".join(parts)


def comparison_markdown(comparison: Comparison) -> str:
    """A heading, one table row per shared metric, and a one-line summary."""
    level = round(comparison.confidence * 100)
    models = comparison.model_a if comparison.model_a == comparison.model_b else f"{comparison.model_a} → {comparison.model_b}"
    suites = comparison.suite_a if comparison.suite_a == comparison.suite_b else f"{comparison.suite_a} → {comparison.suite_b}"
    lines = [
        f"### mlx-bench compare: {_cell(models)} · {_cell(suites)}",
        "",
        f"Baseline `{comparison.run_a}` → candidate `{comparison.run_b}` · "
        f"threshold {comparison.threshold * 100:g}% · {level}% intervals",
        "",
        f"| result | metric | A | B | change | {level}% CI | p | method | verdict |",
        "|---|---|--:|--:|--:|---|--:|---|---|",
    ]
    for row, name in zip(comparison.rows, row_names(comparison.rows), strict=True):
        cells = [
            name,
            row.metric,
            format_value(row.a, row.unit),
            format_value(row.b, row.unit),
            format_change(row),
            format_interval(row),
            format_p(row.p_value),
            row.method,
            VERDICT_MARKS[row.verdict],
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", f"**{summary_line(comparison)}**"]
    notes = not_paired_lines(comparison)
    if notes:
        lines.append("")
        lines += [f"- {_cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"

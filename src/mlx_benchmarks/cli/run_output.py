"""What ``mlx-bench run`` prints when a run is stored: the tables that answer the question, then errors.

The same tables head ``mlx-bench show``. Nothing here changes the envelope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlx_benchmarks.cli.formats import print_sections
from mlx_benchmarks.views.run_summary import summary_sections

if TYPE_CHECKING:
    from rich.console import Console

MAX_ERRORS_SHOWN = 10


def print_errors(out: Console, errors: list[Any]) -> None:
    """The run's errors, at most ``MAX_ERRORS_SHOWN`` (``show --format json`` has every one)."""
    for error in errors[:MAX_ERRORS_SHOWN]:
        out.print(f"error: {error}", markup=False, highlight=False, style="red")
    if len(errors) > MAX_ERRORS_SHOWN:
        out.print(f"... and {len(errors) - MAX_ERRORS_SHOWN} more errors", markup=False, style="red")


def print_run_summary(out: Console, envelope: dict[str, Any], run_id: str, created: bool) -> None:
    """Title, one table per kind of result, errors, and where the run was stored."""
    out.print(f"{envelope['suite']} · {envelope['model']}", style="bold", markup=False, highlight=False)
    if envelope.get("skipped"):
        out.print("skipped: the target was not available", markup=False)
    print_sections(out, summary_sections(envelope))
    print_errors(out, list(envelope.get("errors", [])))
    label = f"{'stored' if created else 'already stored'}:"
    # an id is copied whole (show, compare, --resume): where it does not fit beside its label, it gets a line
    fits = len(label) + 1 + len(run_id) <= out.width
    out.print(f"{label} {run_id}" if fits else f"{label}\n{run_id}", markup=False, soft_wrap=True, highlight=False)
    tail = run_id.rsplit("-", 1)[-1]  # the id's hash: `show` and `samples` take a unique tail as the whole id
    out.print(f"  mlx-bench show {tail} · mlx-bench samples {tail}", markup=False, highlight=False, style="dim")

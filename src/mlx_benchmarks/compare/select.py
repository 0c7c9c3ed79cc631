"""Pick the runs to compare from selectors instead of ids."""

from __future__ import annotations

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.query import Queryable, list_runs


def latest_pair(
    store: Queryable, *, model: str | None = None, suite: str | None = None, latest: int = 2
) -> tuple[str, str]:
    """``(baseline, candidate)``: the ``latest``-th newest matching run and the newest one.

    ``latest=2`` compares the two newest runs. Skipped runs (no results) are passed over, since there
    is nothing in them to compare.
    """
    if latest < 2:
        raise UsageError("--latest needs at least 2 runs to compare")
    runs = [row for row in list_runs(store, suite=suite, model=model) if not row["skipped"]]
    if len(runs) < latest:
        what = ", ".join(f"{k} {v!r}" for k, v in (("model", model), ("suite", suite)) if v) or "any run"
        raise UsageError(f"--latest {latest} needs {latest} stored runs matching {what}; found {len(runs)}")
    return str(runs[latest - 1]["id"]), str(runs[0]["id"])

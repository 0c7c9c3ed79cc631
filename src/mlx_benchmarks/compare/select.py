"""Pick the runs to compare from selectors instead of ids."""

from __future__ import annotations

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.query import Queryable, list_runs


def latest_pair(
    store: Queryable, *, model: str | None = None, suite: str | None = None, latest: int = 2
) -> tuple[str, str]:
    """``(baseline, candidate)``: the newest matching run, and the ``latest``-th newest run of the same
    model and suite (``latest=2``: the one before it).

    ``model`` may be a substring (as in ``mlx-bench runs``); the baseline is always of the candidate's
    exact model and suite, so a loose selector never compares two different models. Skipped runs (no
    results) are passed over, since there is nothing in them to compare.
    """
    if latest < 2:
        raise UsageError("--latest needs at least 2 runs to compare")
    matching = [row for row in list_runs(store, suite=suite, model=model) if not row["skipped"]]
    if model and any(row["model"] == model for row in matching):
        matching = [row for row in matching if row["model"] == model]  # an exact name beats substrings
    if matching:
        newest = matching[0]
        matching = [row for row in matching if (row["model"], row["suite"]) == (newest["model"], newest["suite"])]
    if len(matching) < latest:
        what = ", ".join(f"{k} {v!r}" for k, v in (("model", model), ("suite", suite)) if v) or "any run"
        raise UsageError(f"--latest {latest} needs {latest} stored runs matching {what}; found {len(matching)}")
    return str(matching[latest - 1]["id"]), str(matching[0]["id"])

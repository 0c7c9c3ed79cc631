"""What a store holds besides finished shards: interrupted runs' journals and writers' staging folders.

``mlx-bench runs --incomplete`` lists the journals; ``mlx-bench gc`` removes what can never be finished: a
journal without a usable config (a full disk at its start, an older version's leftovers), and staging
folders no live writer holds. A journal that ``--resume`` can finish is kept unless ``gc --all`` is asked.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlx_benchmarks.fileio import is_locked, remove_stale_staging, stale_staging
from mlx_benchmarks.runner.journal import INPROGRESS_DIR, LOCK_FILE, SampleJournal
from mlx_benchmarks.store import TMP_DIR

Status = Literal["resumable", "in use", "unusable"]


@dataclass(frozen=True)
class IncompleteRun:
    key: str
    status: Status
    suite: str
    started: str
    samples: int
    failed: int
    why: str  # for an unusable journal, what is wrong with it


def _locked(directory: Path) -> bool:
    """True while another process holds the journal's flock (it is being run or resumed)."""
    return is_locked(directory / LOCK_FILE)


def _describe(directory: Path) -> IncompleteRun:
    key = directory.name
    samples, failed = SampleJournal(directory).counts() if (directory / "samples.jsonl").is_file() else (0, 0)
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        request, started = config["request"], str(config["timestamp"])
        suite = str(request["suite"])
    except FileNotFoundError:
        return IncompleteRun(key, "unusable", "-", "-", samples, failed, "no config.json")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return IncompleteRun(key, "unusable", "-", "-", samples, failed, f"unreadable config.json ({type(exc).__name__})")
    status: Status = "in use" if _locked(directory) else "resumable"
    return IncompleteRun(key, status, suite, started, samples, failed, "")


def incomplete_runs(root: Path) -> list[IncompleteRun]:
    """Every journal under ``root/inprogress``, by key."""
    parent = root / INPROGRESS_DIR
    if not parent.is_dir():
        return []
    return [_describe(d) for d in sorted(parent.iterdir()) if d.is_dir() and not d.is_symlink()]


@dataclass(frozen=True)
class Collected:
    journals: list[str]
    staging: list[str]


def collect_garbage(root: Path, *, everything: bool = False, dry_run: bool = False) -> Collected:
    """Remove unusable journals (with ``everything``: every journal not in use) and stale staging folders."""
    doomed = [run for run in incomplete_runs(root)
              if run.status == "unusable" or (everything and run.status == "resumable")]
    doomed = [run for run in doomed if not _locked(root / INPROGRESS_DIR / run.key)]
    tmp = root / TMP_DIR
    staging = stale_staging(tmp) if dry_run else remove_stale_staging(tmp)
    if not dry_run:
        for run in doomed:
            shutil.rmtree(root / INPROGRESS_DIR / run.key, ignore_errors=True)
    return Collected([run.key for run in doomed], [p.name for p in staging])

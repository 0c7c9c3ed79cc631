"""A crash-safe journal of finished samples, so ``mlx-bench run --resume KEY`` redoes nothing.

Each sample is one JSON line, flushed and fsynced before the next starts; a torn last line (kill -9
mid-write) is ignored on reading.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from mlx_benchmarks.errors import UsageError

INPROGRESS_DIR = "inprogress"


class SampleJournal:
    """Append-only per-sample records of one run key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "samples.jsonl"
        self._lock = threading.Lock()

    @classmethod
    def create(cls, root: Path, run_key: str, config: dict[str, Any]) -> SampleJournal:
        directory = root / INPROGRESS_DIR / run_key
        directory.mkdir(parents=True, exist_ok=False)
        (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        return cls(directory)

    @classmethod
    def open(cls, root: Path, run_key: str) -> tuple[SampleJournal, dict[str, Any]]:
        directory = root / INPROGRESS_DIR / run_key
        config_path = directory / "config.json"
        if not config_path.is_file():
            known = sorted(p.name for p in (root / INPROGRESS_DIR).glob("*")) if (root / INPROGRESS_DIR).is_dir() else []
            hint = f"; interrupted runs: {', '.join(known)}" if known else "; there are no interrupted runs"
            raise UsageError(f"no interrupted run {run_key!r} in {root}{hint}")
        config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
        journal = cls(directory)
        journal._drop_torn_tail()
        return journal, config

    def _drop_torn_tail(self) -> None:
        """Cut a half-written last line so the next append starts on a fresh line."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in the order written."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn write from a killed process
        return out

    def done(self) -> dict[str, dict[str, Any]]:
        """Finished records keyed by ``key`` (suite/task/sample id)."""
        return {str(r["key"]): r for r in self.records() if "key" in r}

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def discard(self) -> None:
        """Remove the journal once its run is safely stored."""
        shutil.rmtree(self.directory, ignore_errors=True)

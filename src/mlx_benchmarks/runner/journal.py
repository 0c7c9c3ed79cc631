"""A crash-safe journal of finished samples, so ``mlx-bench run --resume KEY`` redoes nothing it finished.

Each sample is one JSON line, flushed and fsynced before the next starts; a torn last line (kill -9
mid-write) is ignored on reading. A sample that failed is journaled as failed and redone on resume.

The journal's directory is private (0700, files 0600): its config holds the run's request, which is
redacted of credentials before it is written, but prompts and answers may still be someone's data.
While a process works on a run key it holds an exclusive ``flock`` on ``lock`` in that directory, so a
second ``--resume`` of the same key exits 2 instead of doing the work twice (flock is POSIX: Linux and
macOS alike).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
from pathlib import Path
from typing import IO, Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.redact import redact_value
from mlx_benchmarks.store import store_error

INPROGRESS_DIR = "inprogress"
LOCK_FILE = "lock"
DIR_MODE = 0o700
FILE_MODE = 0o600


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class SampleJournal:
    """Append-only per-sample records of one run key, held under an exclusive lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "samples.jsonl"
        self.run_key = directory.name
        self._lock = threading.Lock()
        self._lock_handle: IO[bytes] | None = None

    @classmethod
    def create(cls, root: Path, run_key: str, config: dict[str, Any]) -> SampleJournal:
        """A new, locked journal; ``config`` must already be free of secrets."""
        parent = root / INPROGRESS_DIR
        directory = parent / run_key
        made = False
        journal: SampleJournal | None = None
        try:
            parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            os.chmod(parent, DIR_MODE)
            directory.mkdir(exist_ok=False, mode=DIR_MODE)
            made = True
            journal = cls(directory)
            journal.acquire()
            # written beside, then renamed: a full disk never leaves a 0-byte config.json behind
            _write_private(directory / "config.json.part", json.dumps(redact_value(config), indent=2).encode())
            os.rename(directory / "config.json.part", directory / "config.json")
        except (OSError, UsageError) as exc:
            if journal is not None:
                journal.release()
            if made:  # nothing to resume: leave no in-progress folder without a usable config
                shutil.rmtree(directory, ignore_errors=True)
            if isinstance(exc, UsageError):
                raise
            raise store_error(exc, f"cannot start the journal of run {run_key} in {parent}") from None
        return journal

    @classmethod
    def open(cls, root: Path, run_key: str) -> tuple[SampleJournal, dict[str, Any]]:
        """The journal of an interrupted run and its config (unlocked: call ``acquire`` to work on it)."""
        directory = root / INPROGRESS_DIR / run_key
        config_path = directory / "config.json"
        if not config_path.is_file():
            known = sorted(p.name for p in (root / INPROGRESS_DIR).glob("*")) if (root / INPROGRESS_DIR).is_dir() else []
            hint = f"; interrupted runs: {', '.join(known)}" if known else "; there are no interrupted runs"
            raise UsageError(f"no interrupted run {run_key!r} in {root}{hint}")
        try:
            config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"the journal of run {run_key!r} is unreadable: {exc}") from None
        return cls(directory), config

    def acquire(self) -> None:
        """Take the run key's exclusive lock; UsageError when another process holds it."""
        try:
            handle = open(self.directory / LOCK_FILE, "a+b")  # noqa: SIM115 - held until release()
            os.chmod(handle.name, FILE_MODE)
        except OSError as exc:
            raise store_error(exc, f"cannot lock run {self.run_key} in {self.directory.parent}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UsageError(f"run {self.run_key} is already being run or resumed by another process") from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):
                handle.close()
                raise store_error(exc, f"cannot lock run {self.run_key} in {self.directory.parent}") from None
            # a filesystem without locks (some network mounts): go on, as before locks existed
        self._lock_handle = handle
        self._drop_torn_tail()

    def release(self) -> None:
        handle, self._lock_handle = self._lock_handle, None
        if handle is not None:
            handle.close()  # closing the descriptor drops the flock

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
        """Finished records keyed by ``key`` (suite/task/sample id); the latest record of a key wins, and a
        key whose latest record failed is left out, so ``--resume`` asks for it again."""
        latest = {str(r["key"]): r for r in self.records() if "key" in r}
        return {key: record for key, record in latest.items() if not record.get("error")}

    def counts(self) -> tuple[int, int]:
        """(samples journaled, of which failed), by each key's latest record."""
        latest = {str(r["key"]): r for r in self.records() if "key" in r}
        return len(latest), sum(1 for r in latest.values() if r.get("error"))

    def append(self, record: dict[str, Any]) -> None:
        # a failed sample's error is the server's own text, which may echo a credential
        line = json.dumps(redact_value(record), sort_keys=True, default=str) + "\n"
        try:
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
                with os.fdopen(fd, "a", encoding="utf-8") as handle:
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            raise store_error(exc, f"cannot append to the journal of run {self.run_key} in {self.directory.parent}") from None

    def discard(self) -> None:
        """Remove the journal once its run is safely stored (or never started)."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.release()

"""Atomic file writes (a reader sees the old file or the whole new one, never half of it) and the flocks that
keep writers apart (a writer killed mid-write leaves no lock, and its staging folder is found stale)."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


STALE_STAGING_S = 60.0  # a staging folder this old that no writer locks was left by a killed writer


def hold_lock(path: Path) -> int:
    """An exclusive flock on ``path`` (a file or folder) for as long as the returned descriptor is open: it
    dies with the process, so a killed holder never leaves a lock behind."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):  # no locks on this filesystem: age alone decides
            os.close(fd)
            raise
    return fd


def is_locked(path: Path) -> bool:
    """True while another process holds an exclusive flock on ``path``; False when free or missing."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own shared lock


def stale_staging(tmp_dir: Path, older_than: float = STALE_STAGING_S) -> list[Path]:
    """Staging folders under ``tmp_dir`` that no live writer holds and nobody touched for ``older_than`` s."""
    if not tmp_dir.is_dir():
        return []
    now = time.time()
    stale = []
    for entry in tmp_dir.iterdir():
        try:
            old = entry.is_dir() and not entry.is_symlink() and now - entry.stat().st_mtime >= older_than
        except OSError:
            continue
        if old and not is_locked(entry):
            stale.append(entry)
    return stale


def remove_stale_staging(tmp_dir: Path, older_than: float = STALE_STAGING_S) -> list[Path]:
    """Remove what ``stale_staging`` finds; what cannot be removed now is left for the next write."""
    found = stale_staging(tmp_dir, older_than)
    for entry in found:
        shutil.rmtree(entry, ignore_errors=True)
    return found

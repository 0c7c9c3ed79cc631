"""Reading a user's input file (``validate``, ``import``) so that no file can exhaust memory, hang or crash
the CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlx_benchmarks.errors import UsageError

MAX_INPUT_BYTES = 128 << 20  # far above any envelope or results file

# what each non-regular file type is called in the one-line refusal
_SPECIAL_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class InputTooLarge(UsageError):
    """The file is larger than ``MAX_INPUT_BYTES``."""


class NotARegularFile(UsageError):
    """A FIFO, socket, device or directory: opening a FIFO blocks forever and a device never ends, so these
    are refused before they are opened."""


def special_kind(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (after symlinks), else None; OSError if it cannot be
    stat'ed. ``stat`` never blocks, where ``open`` on a FIFO with no writer would."""
    mode = os.stat(path).st_mode
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), None)


def read_text_bounded(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The file as UTF-8 text; ``NotARegularFile`` for a FIFO, socket, device or directory, ``InputTooLarge``
    past ``limit`` bytes, OSError and UnicodeDecodeError as they come."""
    kind = special_kind(path)
    if kind is not None:
        raise NotARegularFile(f"{path}: {kind}, not a regular file")
    # O_NONBLOCK: a FIFO swapped in after the stat still cannot block the open
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFile(f"{path}: not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"{path}: larger than the {limit >> 20} MiB this command reads")
    return data.decode("utf-8")

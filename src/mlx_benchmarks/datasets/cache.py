"""The normalised dataset cache: ``cache_dir()/datasets/<name>.jsonl`` plus ``<name>.info.json``.

Both files are written atomically (temporary file, fsync, rename), the info file last, so a reader
sees either no cache or a complete one. Every load checks the JSONL's sha256 against the info file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import DatasetInfo, Record
from mlx_benchmarks.datasets.records import record_from_json, record_line
from mlx_benchmarks.errors import DatasetError
from mlx_benchmarks.fileio import atomic_write_bytes
from mlx_benchmarks.paths import cache_dir

# bump when the normalised shape changes: older caches are then re-extracted
CACHE_FORMAT = 1


def datasets_dir() -> Path:
    return cache_dir() / "datasets"


def records_path(name: str) -> Path:
    return datasets_dir() / f"{name}.jsonl"


def info_path(name: str) -> Path:
    return datasets_dir() / f"{name}.info.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    path.chmod(0o644)  # mkstemp made it 0600; the cache may be shared


def write(name: str, records: list[Record], *, source: str, license: str, attribution: str) -> DatasetInfo:
    """Write the cache for ``name`` and return its DatasetInfo."""
    data = "".join(record_line(r) + "\n" for r in records).encode("utf-8")
    info = DatasetInfo(
        name=name,
        source=source,
        license=license,
        attribution=attribution,
        sha256=hashlib.sha256(data).hexdigest(),
        count=len(records),
    )
    _atomic_write(records_path(name), data)
    document = {"format": CACHE_FORMAT, **asdict(info)}
    _atomic_write(info_path(name), (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return info


def read_info(name: str) -> DatasetInfo | None:
    """The cached DatasetInfo, or None when there is no current cache (absent or older format)."""
    path = info_path(name)
    if not path.exists():
        return None
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(
            f"dataset cache {path} is unreadable ({exc}); delete it and run: mlx-bench datasets prepare {name}"
        ) from exc
    if document.get("format") != CACHE_FORMAT:
        return None
    try:
        return DatasetInfo(**{k: document[k] for k in DatasetInfo.__dataclass_fields__})
    except (KeyError, TypeError) as exc:
        raise DatasetError(
            f"dataset cache {path} is malformed; delete it and run: mlx-bench datasets prepare {name}"
        ) from exc


def read(name: str, info: DatasetInfo) -> list[Record]:
    """The cached records, verified against ``info.sha256`` and ``info.count``."""
    path = records_path(name)
    hint = f"run: mlx-bench datasets prepare {name}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"dataset cache {path} is missing or unreadable ({exc.strerror}); {hint}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        raise DatasetError(
            f"dataset cache {path} is corrupt (sha256 {digest[:12]}… != {info.sha256[:12]}…); {hint}"
        )
    records = [
        record_from_json(json.loads(line), f"{path}:{number}")
        # split on "\n" only: str.splitlines would also split inside strings at U+2028 and friends
        for number, line in enumerate(data.decode("utf-8").split("\n"), start=1)
        if line
    ]
    if len(records) != info.count:
        raise DatasetError(
            f"dataset cache {path} holds {len(records)} records, expected {info.count}; {hint}"
        )
    return records

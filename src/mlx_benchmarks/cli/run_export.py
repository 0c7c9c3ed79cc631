"""``run --output-path PATH`` (lm-eval's ``--output_path``): the stored envelope and its samples, copied out.

PATH ending in ``.json`` is the envelope's file, its samples going beside it as ``<stem>.samples.jsonl``; any
other PATH is a folder (made if its parent exists) receiving ``<run id>.json`` and ``<run id>.samples.jsonl``.
Both are read back from the store (what was stored, redacted), and written atomically. The destination is
checked before the run, so a bad PATH costs no measurement.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.fileio import atomic_write_bytes


def check_destination(path: str) -> Path:
    """The output path, or UsageError (before any work) when it cannot be written."""
    target = Path(path).expanduser()
    folder = target.parent if target.suffix == ".json" else target
    if target.suffix == ".json" and target.is_dir():
        raise UsageError(f"--output-path {path}: a folder, not a .json file")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output-path {path}: {folder} is not a folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise UsageError(f"--output-path {path}: no folder {folder.parent}")
    return target


def export(path: Path, run_id: str, envelope: dict[str, object], samples: list[dict[str, object]]) -> tuple[Path, Path]:
    """Write the envelope and the samples (JSON Lines); returns both paths."""
    if path.suffix == ".json":
        envelope_path, samples_path = path, path.with_suffix(".samples.jsonl")
    else:
        path.mkdir(exist_ok=True)
        envelope_path, samples_path = path / f"{run_id}.json", path / f"{run_id}.samples.jsonl"
    lines = "".join(json.dumps(sample, sort_keys=True, default=str) + "\n" for sample in samples)
    atomic_write_bytes(samples_path, lines.encode("utf-8"))
    atomic_write_bytes(envelope_path, (json.dumps(envelope, indent=2) + "\n").encode("utf-8"))
    return envelope_path, samples_path

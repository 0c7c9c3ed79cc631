"""Berkeley Function Calling Leaderboard v4 (the PyPI ``bfcl-eval`` package) as tool-calling records.

The package's data files are read straight from its install folder (found with ``importlib.util.find_spec``,
never imported: importing it pulls heavy dependencies). Each category is extracted once into
``cache_dir()/datasets/bfcl_<category>.jsonl`` with a sidecar ``.info.json`` holding the source, licence
and the sha256 of the normalised file; a cache file whose checksum no longer matches is rebuilt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import DatasetInfo, Record
from mlx_benchmarks.errors import DatasetError, PrerequisiteError
from mlx_benchmarks.paths import cache_dir

PACKAGE = "bfcl_eval"
PINNED_VERSION = "2026.3.23"
LICENSE = "Apache-2.0"
ATTRIBUTION = (
    "Berkeley Function Calling Leaderboard (BFCL) v4, Patil et al., Gorilla project, UC Berkeley "
    "(https://gorilla.cs.berkeley.edu/leaderboard.html); data from the bfcl-eval package, Apache-2.0"
)
INSTALL_HINT = f"pip install --no-deps bfcl-eval=={PINNED_VERSION}"

# our category name -> (BFCL file stem, how it is scored)
# "simple" is BFCL's Python simple set; the Java/JavaScript sets need their own type rules and are left out.
CATEGORIES: dict[str, tuple[str, str]] = {
    "simple": ("simple_python", "simple"),
    "multiple": ("multiple", "multiple"),
    "parallel": ("parallel", "parallel"),
    "parallel_multiple": ("parallel_multiple", "parallel"),
    "irrelevance": ("irrelevance", "irrelevance"),
    "live_simple": ("live_simple", "simple"),
    "live_multiple": ("live_multiple", "multiple"),
    "live_parallel": ("live_parallel", "parallel"),
    "live_parallel_multiple": ("live_parallel_multiple", "parallel"),
    "live_irrelevance": ("live_irrelevance", "irrelevance"),
    "live_relevance": ("live_relevance", "relevance"),
}
ANSWERLESS = ("irrelevance", "relevance")


def data_dir() -> Path:
    """The ``bfcl_eval/data`` folder of the installed package; PrerequisiteError when absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PrerequisiteError(f"the tool-calling data needs the bfcl-eval package: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not folder.is_dir():
        raise DatasetError(f"bfcl-eval is installed but has no data folder at {folder}")
    return folder


def package_version() -> str:
    try:
        return metadata.version("bfcl-eval")
    except metadata.PackageNotFoundError:
        return "unknown"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read BFCL file {path}: {exc}") from None


def _messages(question: Any, where: str) -> list[dict[str, Any]]:
    # BFCL's "question" is a list of turns, each a list of messages; the AST categories have one turn
    if not isinstance(question, list) or not all(isinstance(turn, list) for turn in question):
        raise DatasetError(f"{where}: 'question' is not a list of turns")
    return [{"role": str(m["role"]), "content": str(m["content"])} for turn in question for m in turn]


def normalise(category: str, folder: Path) -> list[dict[str, Any]]:
    """The category's items in one shape: id, category, kind, messages, functions, ground_truth."""
    stem, kind = CATEGORIES[category]
    questions = _read_jsonl(folder / f"BFCL_v4_{stem}.json")
    answers: dict[str, Any] = {}
    if kind not in ANSWERLESS:
        answers = {a["id"]: a["ground_truth"] for a in _read_jsonl(folder / "possible_answer" / f"BFCL_v4_{stem}.json")}
    items = []
    for question in questions:
        qid = str(question["id"])
        if kind not in ANSWERLESS and qid not in answers:
            raise DatasetError(f"BFCL {stem}: question {qid} has no possible answer")
        items.append({
            "id": qid, "category": category, "kind": kind,
            "messages": _messages(question["question"], f"BFCL {stem} {qid}"),
            "functions": question["function"], "ground_truth": answers.get(qid),
        })
    return items


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_paths(category: str, root: Path | None = None) -> tuple[Path, Path]:
    base = (root or cache_dir()) / "datasets"
    return base / f"bfcl_{category}.jsonl", base / f"bfcl_{category}.info.json"


def ensure_cached(category: str, root: Path | None = None) -> DatasetInfo:
    """Extract one category into the cache (once) and return its provenance."""
    if category not in CATEGORIES:
        raise DatasetError(f"unknown BFCL category {category!r}; choose from: {', '.join(CATEGORIES)}")
    data_path, info_path = cache_paths(category, root)
    if data_path.is_file() and info_path.is_file():
        try:
            info = DatasetInfo(**json.loads(info_path.read_text(encoding="utf-8")))
            if info.sha256 == _sha256(data_path):
                return info
        except (OSError, ValueError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    folder = data_dir()
    items = normalise(category, folder)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = data_path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(item, sort_keys=True) + "\n" for item in items), encoding="utf-8")
    tmp.replace(data_path)
    stem = CATEGORIES[category][0]
    info = DatasetInfo(
        name=f"bfcl_{category}",
        source=f"PyPI bfcl-eval {package_version()}: bfcl_eval/data/BFCL_v4_{stem}.json",
        license=LICENSE, attribution=ATTRIBUTION, sha256=_sha256(data_path), count=len(items),
    )
    info_path.write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    return info


def to_record(item: dict[str, Any]) -> Record:
    """One normalised BFCL item as a Record; the tool-calling suite reads ``meta``."""
    users = [m["content"] for m in item["messages"] if m["role"] == "user"]
    return Record(
        id=f"bfcl/{item['category']}/{item['id']}", task=item["category"], prompt=users[-1] if users else "",
        answer=json.dumps(item["ground_truth"]), subject=item["kind"],
        meta={"messages": item["messages"], "functions": item["functions"], "ground_truth": item["ground_truth"],
              "kind": item["kind"]},
    )


def load(category: str, root: Path | None = None) -> tuple[list[Record], DatasetInfo]:
    """Every record of one category, with its provenance."""
    info = ensure_cached(category, root)
    data_path, _ = cache_paths(category, root)
    return [to_record(item) for item in _read_jsonl(data_path)], info


def select(records: Sequence[Record], limit: int | None, seed: int, category: str) -> list[Record]:
    """A seeded sample of ``limit`` records per category, kept in dataset order."""
    if limit is None or limit >= len(records):
        return list(records)
    chosen = sorted(random.Random(f"{seed}/{category}").sample(range(len(records)), limit))
    return [records[i] for i in chosen]


def bfcl(category: str = "simple") -> list[Record]:
    """Dataset-registry entry point: the records of one category."""
    return load(category)[0]


class BFCLLoader:
    """The dataset-registry view of BFCL: every category's records in one list (``Record.task`` = category).

    The tool-calling suite reads the per-category caches above instead, so ``--tasks`` extracts only what
    it needs.
    """

    name = "bfcl"
    license = LICENSE
    attribution = ATTRIBUTION
    needs_data = False

    def source(self, data: Path | None) -> str:
        return f"PyPI bfcl-eval {package_version()}: bfcl_eval/data/BFCL_v4_*.json (+ possible_answer/)"

    def extract(self, data: Path | None) -> list[Record]:
        folder = data_dir()
        return [to_record(item) for category in CATEGORIES for item in normalise(category, folder)]


LOADER = BFCLLoader()

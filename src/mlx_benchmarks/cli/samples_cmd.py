"""``mlx-bench samples RUN``: one stored run's per-sample records, shown, filtered or exported.

``--task T`` keeps one task's samples, ``--failed`` those that failed (a request or scoring error, or a score
below 1: a wrong answer), ``--limit N`` the first N left. ``--format table`` (default) fits 80 columns: task,
id, score, the extracted answer, the gold answer and the error or the reply's start; ``jsonl`` and ``csv``
give every field of every record (nested fields as JSON objects in JSON Lines, as JSON text in CSV), as
lm-eval's ``--log_samples`` files do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, store_location
from mlx_benchmarks.cli.formats import csv_of_records, print_sections
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.views.run_summary import Section

SAMPLE_FORMATS = ("table", "jsonl", "csv")
TEXT_FIELDS = frozenset({"prompt", "response", "extracted", "error", "key", "id", "task"})


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("samples", help="show, filter or export one stored run's per-sample records",
                                   description="One stored run's per-sample records (prompt, reply, extracted "
                                               "answer, score, error, timing).")
    parser.add_argument("run", metavar="RUN", help="run id, or a unique prefix or tail of one")
    parser.add_argument("--task", default=None, help="only this task's samples")
    parser.add_argument("--failed", action="store_true",
                        help="only failed samples: an error, or a score below 1 (a wrong answer)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most N samples")
    parser.add_argument("--format", choices=SAMPLE_FORMATS, default="table",
                        help="table (default, 80 columns), jsonl (every field) or csv")
    add_store_option(parser)
    parser.set_defaults(func=run)


def decoded(sample: dict[str, Any]) -> dict[str, Any]:
    """A stored record with its nested fields (kept as JSON text in Parquet) turned back into objects."""
    out = {}
    for key, value in sample.items():
        if key not in TEXT_FIELDS and isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def failed(sample: dict[str, Any]) -> bool:
    score = sample.get("score")
    return bool(sample.get("error")) or (isinstance(score, (int, float)) and score < 1)


def select(samples: list[dict[str, Any]], *, task: str | None, only_failed: bool, limit: int | None) -> list[dict[str, Any]]:
    """The filtered records; UsageError naming the run's tasks for a task it does not have."""
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    if task is not None:
        tasks = list(dict.fromkeys(task_of(s) for s in samples))
        if task not in tasks:
            raise UsageError(f"--task {task}: this run has samples of {', '.join(tasks) or 'no task'}")
        samples = [s for s in samples if task_of(s) == task]
    if only_failed:
        samples = [s for s in samples if failed(s)]
    return samples[:limit] if limit is not None else samples


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return " ".join(str(value).split())


def task_of(sample: dict[str, Any]) -> str:
    """A quality sample's task, a speed sample's result (the grid cell or load level it belongs to)."""
    return str(sample.get("task") or sample.get("result") or "-")


def speed_section(samples: list[dict[str, Any]], title: str) -> Section:
    """Per-request records of a speed suite: request, tokens in and out, TTFT, decode rate, error."""
    rows = [(_cell(s.get("key")), _cell(s.get("prompt_tokens")), _cell(s.get("output_tokens")),
             _cell(s.get("ttft_ms")), _cell(s.get("decode_tps")), _cell(s.get("error"))) for s in samples]
    return Section(title, ("request", "prompt tok", "output tok", "TTFT ms", "decode tok/s", "error"), rows,
                   frozenset({1, 2, 3, 4}), [] if samples else ["no sample matches"], no_wrap=frozenset(range(6)),
                   clip={0: 24, 5: 14})


def section(samples: list[dict[str, Any]], title: str) -> Section:
    """Task, id, score, answer, gold, and the error or the reply's start (cut to fit 80 columns)."""
    if samples and not any("score" in s for s in samples):
        return speed_section(samples, title)
    rows = []
    for sample in samples:
        raw = sample.get("detail")
        detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
        note = f"error: {sample['error']}" if sample.get("error") else sample.get("response")
        rows.append((_cell(sample.get("task")), _cell(sample.get("id")), _cell(sample.get("score")),
                     _cell(sample.get("extracted")), _cell(detail.get("gold")), _cell(note)))
    return Section(title, ("task", "id", "score", "answer", "gold", "error or reply"), rows, frozenset({2}),
                   [] if samples else ["no sample matches"], no_wrap=frozenset(range(6)),
                   clip={0: 14, 1: 18, 3: 8, 4: 8, 5: 22})


def run(args: argparse.Namespace) -> int:
    from mlx_benchmarks.store import Store

    location = store_location(args)
    if is_remote(location):
        raise UsageError("samples reads a local store; `mlx-bench show RUN --format json` reads a lake")
    store = Store(location)
    run_id = store.resolve(args.run)
    samples = select([decoded(s) for s in store.samples(run_id)], task=args.task, only_failed=args.failed,
                     limit=args.limit)
    if args.format == "jsonl":
        sys.stdout.write("".join(json.dumps(s, sort_keys=True, default=str) + "\n" for s in samples))
    elif args.format == "csv":
        flat = [{k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for k, v in s.items()}
                for s in samples]
        sys.stdout.write(csv_of_records(flat, empty_columns=("task", "id", "score")))
    else:
        print_sections(console(), [section(samples, f"{len(samples)} samples of run {run_id.rsplit('-', 1)[-1]}")])
    return 0

"""Records to and from JSON: the cache format, which is also the format of a user's own JSONL file.

One record per line: ``{"id", "task", "prompt", "answer", "choices"?, "subject"?, "code"?, "meta"?}``
with ``code`` = ``{"entry_point", "test", "canonical_solution", "prompt_prefix"?, "test_imports"?,
"plus_test"?}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import CodeSpec, Record
from mlx_benchmarks.errors import DatasetError

_REQUIRED = ("id", "task", "prompt", "answer")
_KNOWN = {*_REQUIRED, "choices", "subject", "code", "meta"}
_CODE_REQUIRED = ("entry_point", "test", "canonical_solution")
_CODE_KNOWN = {*_CODE_REQUIRED, "prompt_prefix", "test_imports", "plus_test"}


def record_to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict; empty optional fields are left out."""
    out: dict[str, Any] = {
        "id": record.id,
        "task": record.task,
        "prompt": record.prompt,
        "answer": record.answer,
    }
    if record.choices:
        out["choices"] = list(record.choices)
    if record.subject is not None:
        out["subject"] = record.subject
    if record.code is not None:
        code = record.code
        spec: dict[str, Any] = {
            "entry_point": code.entry_point,
            "test": code.test,
            "canonical_solution": code.canonical_solution,
        }
        if code.prompt_prefix:
            spec["prompt_prefix"] = code.prompt_prefix
        if code.test_imports:
            spec["test_imports"] = list(code.test_imports)
        if code.plus_test is not None:
            spec["plus_test"] = code.plus_test
        out["code"] = spec
    if record.meta:
        out["meta"] = record.meta
    return out


def record_line(record: Record) -> str:
    """One canonical JSON line (sorted keys, so the same records always give the same bytes)."""
    return json.dumps(record_to_json(record), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise DatasetError(f"{where}: field {key!r} must be a string")
    return value


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: field {key!r} must be a list of strings")
    return tuple(value)


def _check_fields(item: Any, required: tuple[str, ...], known: set[str], where: str, what: str) -> None:
    """An object with every required string field and no unknown field."""
    if not isinstance(item, dict):
        raise DatasetError(f"{where}: {what} must be a JSON object")
    missing = [key for key in required if key not in item]
    if missing:
        raise DatasetError(f"{where}: {what} misses field(s) {missing}")
    unknown = set(item) - known
    if unknown:
        raise DatasetError(f"{where}: {what} has unknown field(s) {sorted(unknown)}")
    for key in required:
        _string(item, key, where)


def _code_from_json(value: Any, where: str) -> CodeSpec:
    _check_fields(value, _CODE_REQUIRED, _CODE_KNOWN, where, "'code'")
    plus = value.get("plus_test")
    if plus is not None and not isinstance(plus, str):
        raise DatasetError(f"{where}: field 'plus_test' must be a string")
    return CodeSpec(
        entry_point=value["entry_point"],
        test=value["test"],
        canonical_solution=value["canonical_solution"],
        prompt_prefix=_string(value, "prompt_prefix", where) if "prompt_prefix" in value else "",
        test_imports=_strings(value.get("test_imports", []), "test_imports", where),
        plus_test=plus,
    )


def record_from_json(item: Any, where: str) -> Record:
    """A Record from one parsed JSON line; DatasetError naming ``where`` (file:line) when malformed."""
    _check_fields(item, _REQUIRED, _KNOWN, where, "a record")
    if not item["id"]:
        raise DatasetError(f"{where}: field 'id' must not be empty")
    subject = item.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise DatasetError(f"{where}: field 'subject' must be a string")
    meta = item.get("meta", {})
    if not isinstance(meta, dict):
        raise DatasetError(f"{where}: field 'meta' must be an object")
    return Record(
        id=item["id"],
        task=item["task"],
        prompt=item["prompt"],
        answer=item["answer"],
        choices=_strings(item.get("choices", []), "choices", where),
        subject=subject,
        code=_code_from_json(item["code"], where) if item.get("code") is not None else None,
        meta=meta,
    )


def read_records(path: Path) -> list[Record]:
    """Every record of a JSONL file in the Record shape; duplicate ids are an error."""
    records: list[Record] = []
    seen: set[str] = set()
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
            record = record_from_json(item, where)
            if record.id in seen:
                raise DatasetError(f"{where}: duplicate id {record.id!r}")
            seen.add(record.id)
            records.append(record)
    if not records:
        raise DatasetError(f"{path}: no records")
    return records

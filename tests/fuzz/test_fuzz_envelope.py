"""Fuzzing envelope validation, ``mlx-bench validate`` and ``Store.put``: NaN and Infinity are refused wherever
they hide, ``validate`` answers every file with 0, 2 or 3 (never 1), and the store takes every valid envelope."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validation_errors
from mlx_benchmarks.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from mlx_benchmarks.store import Store
from tests.fuzz.conftest import CLI_EXAMPLES, STORE_EXAMPLES
from tests.fuzz.envelopes import ENVELOPES
from tests.fuzz.strategies import dumps, files, json_values


def has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(has_nonfinite(v) for v in value)
    return False


def plant(document: dict[str, Any], where: int, hazard: Any) -> dict[str, Any]:
    """``hazard`` at one of a few places: a result's value or raw, a tag, the system block, the top level."""
    document = copy.deepcopy(document)
    results = document["results"] or [{"name": "n", "metric": "m", "value": 1.0, "unit": "u"}]
    document["results"] = results
    spots = [lambda: results[0].__setitem__("value", hazard), lambda: results[0].__setitem__("raw", hazard),
             lambda: results[0].setdefault("tags", {}).__setitem__("t", hazard),
             lambda: document["system"].__setitem__("memory_gb", hazard), lambda: document.__setitem__("seed", hazard),
             lambda: document.__setitem__("memory_snapshots", [{"phase": "p", "rss_gb": hazard}])]
    spots[where % len(spots)]()
    return document


@given(ENVELOPES, st.integers(min_value=0, max_value=5), json_values())
def test_validation_never_raises_and_refuses_every_nonfinite_number(document: dict[str, Any], where: int,
                                                                   hazard: Any) -> None:
    spoiled = plant(document, where, hazard)
    errors = validation_errors(spoiled)
    assert all(isinstance(e, str) and e.startswith("$") for e in errors)
    if has_nonfinite(hazard):
        assert any("not a finite number" in e for e in errors)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANGUAGE", "C")  # argparse's gettext otherwise stats locale folders on every call
        yield tmp_path_factory.mktemp("fuzz-validate")


def cli(*argv: str) -> int:
    """``mlx-bench`` in process, its output swallowed."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


@settings(max_examples=CLI_EXAMPLES)
@given(files(st.one_of(ENVELOPES, st.builds(plant, ENVELOPES, st.integers(0, 5), json_values()), json_values())))
def test_validate_answers_every_file_with_a_documented_code(scratch: Path, content: bytes) -> None:
    path = scratch / "envelope.json"
    path.write_bytes(content)
    assert cli("validate", str(path)) in (EXIT_OK, EXIT_USAGE, EXIT_INVALID)


def test_validate_names_nan_by_path_and_refuses_huge_files(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"results": [{"value": float("nan")}], "system": {"memory_gb": float("inf")}}
    path = scratch / "nan.json"
    path.write_bytes(dumps(document))
    assert main(["validate", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "$.results[0].value: nan is not a finite number" in err and "$.system.memory_gb: inf" in err
    for content in (b"[" * 100_000, b"1" * 5000, b"\xff\xfe{}"):
        path.write_bytes(content)
        assert main(["validate", str(path)]) == EXIT_USAGE
        assert capsys.readouterr().err.count("\n") == 1
    assert main(["validate", "/dev/zero"]) == EXIT_USAGE, "a device is refused before it is read"
    assert "character device, not a regular file" in capsys.readouterr().err


@settings(max_examples=STORE_EXAMPLES)
@given(ENVELOPES)
def test_store_put_takes_every_valid_envelope(tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any]) -> None:
    store = Store(tmp_path_factory.mktemp("fuzz-store"))
    stored = store.put(document)
    assert stored.created and store.envelope(stored.run_id) == json.loads(json.dumps(document))
    assert store.put(document).created is False

"""``mlx-bench import`` against the seed project's own converters (the oracle), on the same files.

For every result the converter makes, our import holds one of the same name and metric with the same value,
unit, ``duration_seconds`` and tags (ours may add only the tags documented in ``EXTRA_TAGS``), and for every key
the converter names we make no other result. The rows come from scripts/upstream_converters_oracle.py: run live
against ``../shared/upstream`` when that checkout is beside this one (CI has it), else read from the rows it
committed (tests/fixtures/upstream_converters/, with the seed commit that made them).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.importers import get_importer
from mlx_benchmarks.importers import lm_eval as lm_eval_importer
from mlx_benchmarks.importers import vllm_bench as vllm_importer
from mlx_benchmarks.importers.common import ImportContext

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "tests" / "fixtures" / "upstream_converters"
UPSTREAM = ROOT.parent / "shared" / "upstream"
SCRIPT = ROOT / "scripts" / "upstream_converters_oracle.py"
SYSTEM = {"os": "macOS 26.1", "chip": "Apple M4 Max", "memory_gb": 128}
EXTRA = {"lm-eval": set(lm_eval_importer.EXTRA_TAGS), "vllm": set(vllm_importer.EXTRA_TAGS)}
NAMED = {"lm-eval": ("lm_eval_key", lm_eval_importer.METRIC_NAMES), "vllm": ("vllm_key", vllm_importer.METRIC_NAMES)}


def committed() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(COMMITTED.glob("*.json"))}


@cache
def live() -> dict[str, dict[str, Any]] | None:
    """The converters' rows made now from the seed checkout, or None where there is none."""
    if not (UPSTREAM / "src" / "mlx_benchmarks" / "converters").is_dir():
        return None
    done = subprocess.run([sys.executable, str(SCRIPT), "--print", "--upstream", str(UPSTREAM)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    made: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return made


def oracle() -> dict[str, dict[str, Any]]:
    return live() or committed()


def ours(case: dict[str, Any]) -> list[dict[str, Any]]:
    path = ROOT / case["input"]
    context = ImportContext(source=path.name, suite=case["suite"], model=None, git_sha="0a1b2c3d4e5f",
                            system=SYSTEM, extra_tags=dict(case["extra_tags"]))
    envelope = get_importer(case["kind"])(json.loads(path.read_text(encoding="utf-8")), context).validated()
    results: list[dict[str, Any]] = envelope["results"]
    return results


def test_the_committed_rows_are_what_the_seed_converters_make_now() -> None:
    found = live()
    if found is None:
        pytest.skip(f"no seed checkout at {UPSTREAM}: the committed rows stand in for it")
    assert found == committed(), "rerun scripts/upstream_converters_oracle.py: the seed's converters changed"


def test_the_committed_rows_name_their_seed_commit_and_inputs() -> None:
    cases = committed()
    assert len(cases) >= 7 and {c["kind"] for c in cases.values()} == {"lm-eval", "vllm"}
    for case in cases.values():
        assert len(case["upstream_commit"]) == 40 and case["rows"]
        assert hashlib.sha256((ROOT / case["input"]).read_bytes()).hexdigest() == case["input_sha256"]


@pytest.mark.parametrize("case_id", sorted(committed()))
def test_our_import_makes_the_converters_rows(case_id: str) -> None:
    case = oracle()[case_id]
    kind = case["kind"]
    mine = {(r["name"], r["metric"]): r for r in ours(case)}
    for theirs in case["rows"]:
        key = (theirs["name"], theirs["metric"])
        assert key in mine, f"{case_id}: the converter's {key} is missing from our import"
        row = mine[key]
        assert (row["value"], row["unit"], row.get("duration_seconds")) == (
            theirs["value"], theirs["unit"], theirs.get("duration_seconds")), f"{case_id} {key}"
        tags = row.get("tags", {})
        assert {k: tags.get(k) for k in theirs["tags"]} == theirs["tags"], f"{case_id} {key}"
        added = set(tags) - set(theirs["tags"]) - set(case["extra_tags"])
        assert added <= EXTRA[kind], f"{case_id} {key}: undocumented tags {sorted(added - EXTRA[kind])}"
    # and for a key the converter names, no result of ours the converter does not make
    source_tag, names = NAMED[kind]
    converted = {(r["name"], r["metric"]) for r in case["rows"]}
    named_here = {k for k, r in mine.items() if r["tags"].get(source_tag) in names}
    if not case["extra_tags"].get(source_tag):  # a user's --tag of that key hides which key a result came from
        assert named_here == converted, case_id
    assert len(mine) >= len(converted)


def test_the_cli_passes_tags_as_the_converter_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlx_benchmarks.cli.main import main

    case = oracle()["vllm_bench_serve_tagged"]
    flags = [f"--tag={k}={v}" for k, v in case["extra_tags"].items()]
    code = main(["import", "--kind", "vllm", str(ROOT / case["input"]), "--suite", "throughput", "--no-store",
                 "--json", "--git-sha", "0a1b2c3d4e5f", *flags])
    assert code == 0
    mine = {(r["name"], r["metric"]): r for r in json.loads(capsys.readouterr().out)["results"]}
    for theirs in case["rows"]:
        tags = mine[(theirs["name"], theirs["metric"])]["tags"]
        assert {k: tags[k] for k in theirs["tags"]} == theirs["tags"]
    code = main(["import", "--kind", "vllm", str(ROOT / case["input"]), "--suite", "throughput", "--no-store",
                 "--tag", "no-equals-sign", "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--tag 'no-equals-sign': expected KEY=VALUE" in err

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlx_benchmarks.envelope import (
    Envelope,
    GenKwargs,
    MemorySnapshot,
    Result,
    schema,
    validate,
    validation_errors,
)
from mlx_benchmarks.errors import EnvelopeInvalid
from tests.core.helpers import example_envelope

SEED_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "seed" / "schema.json"


def test_packaged_schema_is_the_seed_verbatim() -> None:
    if not SEED_SCHEMA.is_file():
        pytest.skip("../shared/seed/schema.json is not beside this checkout")
    packaged = Path(__file__).resolve().parents[2] / "src" / "mlx_benchmarks" / "schema.json"
    assert packaged.read_bytes() == SEED_SCHEMA.read_bytes()


def test_schema_example_is_valid() -> None:
    assert validation_errors(example_envelope()) == []


def test_every_error_is_reported_in_one_pass_with_its_path() -> None:
    broken = example_envelope(timestamp="not-a-date", trigger="nightly", schema_version="2")
    broken["results"][0]["value"] = "high"
    broken["results"][0]["tags"] = {"n": 3}
    del broken["system"]["chip"]
    errors = validation_errors(broken)
    paths = {e.split(":", 1)[0] for e in errors}
    assert {"$.timestamp", "$.trigger", "$.schema_version", "$.results[0].value", "$.results[0].tags.n", "$.system"} <= paths
    assert len(errors) == 6


def test_bad_date_time_fails_format_check() -> None:
    assert any("date-time" in e for e in validation_errors(example_envelope(timestamp="2026-13-45T99:00:00Z")))


def test_validate_raises_with_all_errors() -> None:
    with pytest.raises(EnvelopeInvalid) as info:
        validate(example_envelope(git_sha="xyz", trigger="x"))
    assert len(info.value.errors) == 3  # git_sha breaks both pattern and minLength


def test_builders_produce_valid_envelopes() -> None:
    result = Result(name="tok_per_sec_512", metric="throughput", value=42.0, unit="tok/s",
                    decode_tokens_per_second=42.0, first_token_latency_ms=12.5, peak_rss_mb=300.0)
    result.tag(trials=3, near_client_ceiling=False, ratio=0.123456789)
    envelope = Envelope(
        suite="throughput", model="m", system={"os": "x", "chip": "y", "memory_gb": 8}, git_sha="abcdef1",
        gen_kwargs=GenKwargs(max_gen_toks=128, temperature=0.0), seed=7, results=[result],
        memory_snapshots=[MemorySnapshot(phase="peak", rss_gb=0.5, free_gb=10.0)],
    )
    document = envelope.validated()
    assert document["results"][0]["tags"] == {"trials": "3", "near_client_ceiling": "false", "ratio": "0.123457"}
    assert document["gen_kwargs"] == {"max_gen_toks": 128, "temperature": 0.0}
    assert document["pr_number"] is None
    assert json.loads(json.dumps(document)) == document


def test_schema_suites_match_the_contract() -> None:
    assert "throughput" in schema()["properties"]["suite"]["enum"]

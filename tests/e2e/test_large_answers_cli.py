"""The response budget through the CLI against the fault server: answers of 7.6 MiB, 16 MiB for all in flight."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_OK
from mlx_benchmarks.store import Store
from tests.doubles.fault_server import FaultServer, Ok, always

ANSWER = Ok(tokens=480, text="x" * 16384, delay_s=0.001)  # 7.5 MiB of text, 7.6 MiB on the wire: two fit in 16


def test_a_quality_run_over_the_budget_fails_that_answer_as_data(tmp_path: Path) -> None:
    with FaultServer(always(ANSWER)).in_thread() as server:
        code = main(["run", "reasoning", "--limit", "3", "--concurrency", "3", "--target", server.url,
                     "--store", str(tmp_path), "--git-sha", "abcdef0", "--max-buffered-mb", "16"])
    assert code == EXIT_OK
    (run_id,) = Store(tmp_path).run_ids()
    samples = Store(tmp_path).samples(run_id)
    refused = [s for s in samples if s["error"]]
    assert refused and all("--max-buffered-mb" in s["error"] for s in refused), [s["error"] for s in samples]
    assert len(refused) < len(samples), "the answers inside the budget were scored"
    assert any("partial run" in e for e in Store(tmp_path).envelope(run_id)["errors"])


def test_an_answer_over_max_response_mb_fails_and_says_which_flag(tmp_path: Path) -> None:
    with FaultServer(always(ANSWER)).in_thread() as server:
        code = main(["run", "reasoning", "--limit", "1", "--concurrency", "1", "--target", server.url,
                     "--store", str(tmp_path), "--git-sha", "abcdef0", "--max-response-mb", "2",
                     "--skip-unavailable"])
    assert code == EXIT_OK  # every answer refused: stored as skipped, with the reason
    (run_id,) = Store(tmp_path).run_ids()
    assert any("--max-response-mb" in e for e in Store(tmp_path).envelope(run_id)["errors"])

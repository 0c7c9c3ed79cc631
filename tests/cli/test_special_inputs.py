"""Issue #21's input defects as regression tests: special files, unbounded validation output, a store that is
a file, and a cache that must follow ``--store``. Each is driven through the CLI."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
from tests.core.helpers import example_envelope

from mlx_benchmarks import paths
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_INVALID, EXIT_USAGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
COMMANDS = (
    ["validate"],
    ["import", "--kind", "lm-eval", "--suite", "reasoning"],
    ["import", "--kind", "vllm", "--suite", "throughput"],
    ["import", "--kind", "llama-bench", "--suite", "throughput"],
)


def _argv(command: list[str], path: Path, store: Path) -> list[str]:
    argv = [*command[:1], str(path), *command[1:]]
    return argv if command[0] == "validate" else [*argv, "--store", str(store)]


def _run_bounded(argv: list[str]) -> int:
    """main() in a thread with a deadline: a FIFO used to block forever in open()."""
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(main(argv)), daemon=True)
    worker.start()
    worker.join(20)
    assert outcome, f"{argv} still running after 20 s"
    return outcome[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_special_files_are_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               command: list[str]) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    store = tmp_path / "store"
    try:
        for path, kind in ((fifo, "FIFO"), (sock_path, "socket"), (Path("/dev/null"), "character device"),
                           (tmp_path, "directory")):
            assert _run_bounded(_argv(command, path, store)) == EXIT_USAGE, path
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and kind in err and "not a regular file" in err, err
    finally:
        server.close()
    assert not (store / "runs").exists() or not any((store / "runs").iterdir()), "nothing stored"


def test_validation_output_is_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = example_envelope()
    huge["suite"] = "x" * 20_000_000  # one schema error quoting a 20 MB value
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(huge))
    assert main(["validate", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400, len(err)

    many = example_envelope()
    many["results"] = [{"name": 1, "metric": 2, "value": "v", "unit": 3} for _ in range(3000)]
    path.write_text(json.dumps(many))
    assert main(["validate", str(path)]) == EXIT_INVALID
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 21 and lines[-1].startswith(f"{path}: and ") and lines[-1].endswith(" more"), lines[-3:]
    assert all(len(line) < 300 + len(str(path)) + 3 for line in lines)
    assert main(["validate", "--json", str(path)]) == EXIT_INVALID
    outcome = json.loads(capsys.readouterr().out)[0]
    assert len(outcome["errors"]) == 21 and outcome["error_count"] > 20


@pytest.mark.parametrize("command", [["runs"], ["show", "abc"], ["report", "--html", "r.html"], ["trend"],
                                     ["import", "--kind", "lm-eval", str(FIXTURES / "lm_eval_results.json"),
                                      "--suite", "reasoning"]])
def test_a_store_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            command: list[str]) -> None:
    store = tmp_path / "store-file"
    store.write_text("not a folder")
    assert main([*command, "--store", str(store)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err and "internal error" not in err, err
    assert store.read_text() == "not a folder"


def test_the_cache_follows_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MLX_BENCH_CACHE", raising=False)
    monkeypatch.setenv("MLX_BENCH_STORE", str(tmp_path / "env-store"))
    monkeypatch.setattr(paths, "_chosen_store", None)
    assert paths.cache_dir() == tmp_path / "env-store" / "cache"
    assert main(["runs", "--store", str(tmp_path / "flag-store")]) == 0
    capsys.readouterr()
    assert paths.cache_dir() == tmp_path / "flag-store" / "cache", "--store moves the cache, as the README says"
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path / "explicit"))
    assert paths.cache_dir() == tmp_path / "explicit", "MLX_BENCH_CACHE still wins"

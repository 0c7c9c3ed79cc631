"""Exit codes you can script: no measurement or an early stop is exit 6 with the journal kept; a store that is
read-only or full is exit 2 in one line, mid-run too, never a traceback.

In-process runs use the one-task test suite (``echo_target.ArithSuite``) over the switchable double; the
read-only and full-disk cases run the real CLI in a child process (as user ``nobody`` for read-only, on a
tiny tmpfs for a full disk) where the machine allows it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_USAGE
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites import registry

REPO = Path(__file__).resolve().parents[2]
TARGET = "py:tests.doubles.switchable_target:switchable_target"
GOLD = "py:tests.doubles.gold_target:gold_target"


@pytest.fixture(autouse=True)
def _test_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "reasoning", "tests.doubles.echo_target:ArithSuite")


@pytest.fixture
def down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A switch file: while it exists the switchable target fails every request; requests are logged."""
    flag = tmp_path / "down"
    flag.touch()
    monkeypatch.setenv("SWITCHABLE_DOWN", str(flag))
    monkeypatch.setenv("SWITCHABLE_LOG", str(tmp_path / "asked.log"))
    yield flag


def run_key_from(err: str) -> str:
    line = next(line for line in err.splitlines() if "--resume " in line)
    return line.split("--resume ", 1)[1].split("`")[0].split()[0]


def run(store: Path, *flags: str) -> int:
    return main(["run", "reasoning", "--target", TARGET, "--store", str(store), "--git-sha", "abcdef0", *flags])


def test_no_measurement_exits_6_keeps_the_journal_and_resume_finishes(tmp_path: Path, down: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert run(store, "--limit", "4") == EXIT_NO_MEASUREMENT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mlx-bench: error: no measurement: every request of the run failed")
    key = run_key_from(err[0])
    assert Store(store).run_ids() == [] and (store / "inprogress" / key / "samples.jsonl").is_file()

    down.unlink()  # the target is back: the failed samples are asked again
    assert main(["run", "--resume", key, "--store", str(store)]) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    assert envelope["results"][0]["value"] == 1.0 and envelope["results"][0]["tags"]["n_samples"] == "4"
    assert envelope["errors"] == [] and not (store / "inprogress" / key).exists()
    asked = Counter((tmp_path / "asked.log").read_text().split())
    assert asked == {str(i): 2 for i in range(4)}


def test_early_stop_says_how_to_finish_and_resume_redoes_only_what_failed(
        tmp_path: Path, down: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert run(store, "--limit", "20") == EXIT_NO_MEASUREMENT
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "stopped after 8 consecutive failed requests" in err
    assert "8 samples tried, 8 failed, 12 never tried" in err and "will finish the run once the target is back" in err
    down.unlink()
    assert main(["run", "--resume", run_key_from(err), "--store", str(store)]) == 0
    (run_id,) = Store(store).run_ids()
    assert len(Store(store).samples(run_id)) == 20
    asked = Counter((tmp_path / "asked.log").read_text().split())
    assert sorted(asked.values()) == [1] * 12 + [2] * 8, "only the 8 failed samples are asked twice"


def test_journal_that_cannot_grow_is_exit_2_one_line_journal_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    real_fsync = os.fsync
    appended = Counter[str]()

    def full_disk_fsync(fd: int) -> None:
        # the disk fills after two journaled samples: every later append to the journal fails
        if os.readlink(f"/proc/self/fd/{fd}").endswith("samples.jsonl"):
            appended["n"] += 1
            if appended["n"] > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell the journal's descriptor apart")
    monkeypatch.setattr(os, "fsync", full_disk_fsync)
    store = tmp_path / "store"
    assert main(["run", "reasoning", "--target", TARGET, "--limit", "6", "--store", str(store),
                 "--git-sha", "abcdef0"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no space left on device" in err[0] and "journal" in err[0]
    (journal,) = (store / "inprogress").glob("*/samples.jsonl")
    assert len(journal.read_text().splitlines()) >= 2 and Store(store).run_ids() == []


# ------------------------------------------------------------------ the real CLI, real filesystems

def cli(store: Path, *args: str, user: str | None = None, cache: Path | None = None,
        home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "PYTHONDONTWRITEBYTECODE": "1"}
    if cache is not None:
        env["MLX_BENCH_CACHE"] = str(cache)
    if home is not None:
        env["HOME"] = str(home)
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if user == "nobody" else []
    return subprocess.run([*prefix, sys.executable, "-m", "mlx_benchmarks.cli.main", *args, "--store", str(store)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="mlx-bench-ro-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def can_drop_privileges() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                            "import mlx_benchmarks"], capture_output=True, cwd=REPO, timeout=60)
    return probe.returncode == 0


@pytest.mark.skipif(not can_drop_privileges(), reason="needs root and setpriv to run as nobody")
@pytest.mark.parametrize("command", [
    ["run", "reasoning", "--target", GOLD, "--limit", "2", "--tasks", "gsm8k", "--git-sha", "abcdef0"],
    ["import", "--kind", "llama-bench", str(REPO / "tests/fixtures/imports/llama_bench.json"), "--suite", "throughput",
     "--git-sha", "abcdef0"],
])
def test_read_only_store_is_exit_2_in_one_line(shared_dir: Path, command: list[str]) -> None:
    store = shared_dir / "store"
    (store / "runs").mkdir(parents=True)
    store.chmod(0o755)  # owned by root: read-only to nobody
    writable = shared_dir / "writable"
    writable.mkdir()
    writable.chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    done = cli(store, *command, user="nobody", cache=writable, home=writable)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "permission denied" in lines[0] and str(store) in lines[0], done.stderr
    assert not any((store / "runs").iterdir())


@pytest.fixture
def tiny_tmpfs(shared_dir: Path) -> Iterator[Path]:
    mount = shared_dir / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_disk_that_fills_mid_run_is_one_line_and_keeps_the_journal(tiny_tmpfs: Path, shared_dir: Path) -> None:
    store = tiny_tmpfs / "store"
    (store / "inprogress").mkdir(parents=True)
    filler = tiny_tmpfs / "filler"
    # leave room for the journal's config and a sample or two, not for the run
    with open(filler, "wb") as handle:
        handle.write(b"\0" * (256 - 16) * 1024)
    cache = shared_dir / "cache"
    done = cli(store, "run", "reasoning", "--target", GOLD, "--limit", "30", "--tasks", "gsm8k",
               "--git-sha", "abcdef0", cache=cache)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on device" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    (journal,) = (store / "inprogress").iterdir()
    assert (journal / "config.json").is_file()


@pytest.mark.skipif(not can_drop_privileges(), reason="needs root and setpriv to run as nobody")
def test_reading_commands_work_on_a_read_only_store_and_say_so_when_it_is_unreadable(shared_dir: Path) -> None:
    home = shared_dir / "home"
    home.mkdir()
    home.chmod(0o777)
    fixture = str(REPO / "tests/fixtures/imports/llama_bench.json")
    private = shared_dir / "private"
    assert cli(private, "import", "--kind", "llama-bench", fixture, "--suite", "throughput",
               "--git-sha", "abcdef0").returncode == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o700, "a new store is private"
    done = cli(private, "runs", user="nobody", home=home)
    assert done.returncode == EXIT_USAGE and done.stderr.count("\n") == 1 and "permission denied" in done.stderr, \
        done.stderr

    store = shared_dir / "store"
    for sha in ("abcdef0", "abcdef1"):
        done = cli(store, "import", "--kind", "llama-bench", fixture, "--suite", "throughput", "--git-sha", sha,
                   "--share-mode")
        assert done.returncode == 0, done.stderr
    ids = Store(store).run_ids()
    shard = store / "runs" / ids[0]
    assert stat.S_IMODE(shard.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in shard.iterdir()} == {0o640}
    subprocess.run(["chgrp", "-R", "65534", str(store)], check=True)  # the lake's group: nobody's
    for command in (["compare", *ids], ["runs"]):
        done = cli(store, *command, user="nobody", home=home)
        assert done.returncode == 0, (command, done.stderr)  # a shared store of another user is read-only here
    for shard in ids:
        (store / "runs" / shard).chmod(0o700)
    for command in (["compare", *ids], ["runs"]):
        done = cli(store, *command, user="nobody", home=home)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == EXIT_USAGE and len(lines) == 1 and "permission denied" in lines[0], done.stderr


def test_a_server_killed_mid_quality_run_is_exit_6_and_resume_finishes_on_its_return(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.doubles.scripted_openai_server import Answer, ScriptedOpenAIServer, ServerGone, Step

    # the real reasoning suite over HTTP, not this file's one-task test suite
    monkeypatch.setitem(registry.SUITES, "reasoning", "mlx_benchmarks.suites.reasoning:ReasoningSuite")

    def dies_after_four(index: int, body: dict[str, object]) -> Step:
        return ServerGone() if index == 4 else Answer(content=["The answer is 3."])

    store = tmp_path / "store"
    flags = ["run", "reasoning", "--tasks", "gsm8k", "--limit", "20", "--concurrency", "1", "--git-sha", "abcdef0",
             "--store", str(store)]
    with ScriptedOpenAIServer(script=dies_after_four).in_thread() as server:
        assert main([*flags, "--target", server.url]) == EXIT_NO_MEASUREMENT
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "samples tried" in err and "never tried" in err and "--resume" in err
    assert Store(store).run_ids() == [], "never stored as finished over the samples done before the server died"
    with ScriptedOpenAIServer(script=[Answer(content=["The answer is 3."])], port=server.port).in_thread() as back:
        assert main(["run", "--resume", run_key_from(err), "--store", str(store)]) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    assert envelope["errors"] == [] and len(Store(store).samples(run_id)) == 20
    assert len(back.requests) == 20 - 4, "the four answered before the server died are not asked again"

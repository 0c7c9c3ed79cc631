"""``mlx-bench run framework-eval`` over all five frameworks in a fresh process whose sockets refuse every
host but loopback: each framework solves a task against the scripted tool server (a test double), and no
library reaches for the network (LiteLLM's model-cost map, LangSmith, OpenTelemetry) on import or at work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx_benchmarks.envelope import validate
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites.framework_eval import FRAMEWORKS, RUNNERS
from tests.doubles.scripted_tool_server import ScriptedToolServer

# Runs before the CLI in the child: every DNS lookup or connection to a non-loopback host is refused and
# written down, so a library that tries one fails the test even when it copes with the refusal.
GUARD = r"""
import atexit, json, os, socket, sys
LOCAL = {"127.0.0.1", "localhost", "::1", "", None}
attempts = []
real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in LOCAL:
        attempts.append(f"dns {name}")
        raise socket.gaierror(socket.EAI_NONAME, "non-loopback host refused by the test")
    return real_getaddrinfo(host, *args, **kwargs)

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL:
        attempts.append(f"connect {address[0]}")
        raise OSError("non-loopback connection refused by the test")
    return real_connect(self, address)

socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect
atexit.register(lambda: open(os.environ["NET_ATTEMPTS"], "w").write(json.dumps(attempts)))
from mlx_benchmarks.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
# what our runner must set itself: the child starts without any of it
OFFLINE_KEYS = ("LITELLM_LOCAL_MODEL_COST_MAP", "LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2",
                "LANGCHAIN_TRACING", "OTEL_SDK_DISABLED")


@pytest.mark.skipif(any(runner.missing() for runner in RUNNERS.values()), reason="not every framework is installed")
def test_five_frameworks_run_offline_in_one_cli_run(tmp_path: Path, repo_root: Path) -> None:
    attempts = tmp_path / "attempts.json"
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_KEYS}
    env.update(NET_ATTEMPTS=str(attempts), PYTHONPATH=str(repo_root / "src"))
    # hermes: the server writes calls as <tool_call> text, which Qwen-Agent parses itself and the adapter
    # turns into native calls for the frameworks that sent tools
    with ScriptedToolServer().in_thread() as server:
        child = subprocess.run(
            [sys.executable, "-c", GUARD, "run", "framework-eval", "--target", server.url("hermes"),
             "--frameworks", ",".join(FRAMEWORKS), "--tasks", "capital_from_file", "--store", str(tmp_path / "s"),
             "--git-sha", "abcdef0"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    assert json.loads(attempts.read_text()) == []
    assert not (tmp_path / "workspace").exists(), "Qwen-Agent's default workspace folder was written"
    store = Store(tmp_path / "s")
    (run_id,) = store.run_ids()
    envelope = store.envelope(run_id)
    validate(envelope)
    headline = {r["name"]: r for r in envelope["results"] if r["metric"] == "success_rate"}
    assert list(headline) == list(FRAMEWORKS)
    assert {name: r["value"] for name, r in headline.items()} == dict.fromkeys(FRAMEWORKS, 1.0), child.stdout
    for name, runner in RUNNERS.items():
        assert headline[name]["tags"]["framework_driver"] == runner.driver
        assert headline[name]["tags"]["framework_packages"].count("==") == len(runner.distributions)
    assert not envelope["errors"]

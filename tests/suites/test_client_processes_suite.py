"""``throughput --client-processes 2``: the same requests and the same envelope as one process, plus its tag."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.suites.throughput import ThroughputSuite
from tests.doubles.echo_target import ScriptedTarget
from tests.suites.test_throughput import context, valid
from tests.suites.test_throughput_workloads import run_against

LEVELS = {"prompt_lengths": "8", "gen_tokens": "4", "trials": 1, "warmup": 0, "concurrency": "3",
          "request_rate": "40", "rate_requests": 12}


def run(processes: int) -> tuple[Any, list[str]]:
    server = CalibrationServer(ttft_ms=2, itl_ms=3, record=True)
    outcome = asyncio.run(run_against(server, client_processes=str(processes), **LEVELS))
    return outcome, [json.loads(body)["messages"][0]["content"] for body in server.received]


def test_two_processes_send_what_one_sends_and_say_so() -> None:
    one, sent_one = run(1)
    two, sent_two = run(2)
    valid(two)
    # the one-at-a-time grid cell runs in this process either way (on a busy machine its 4 tokens may
    # come in one read, and then it has no decode time): the load levels are what is compared
    assert not [e for e in two.errors if "tok_per_sec_8" not in e], two.errors
    assert Counter(sent_two) == Counter(sent_one), "the same prompts, each as often, whichever the processes"
    levels = [r for r in two.results if r.name.startswith(("concurrency_3", "rate_40"))]
    assert [r.name for r in levels] == [r.name for r in one.results if r.name.startswith(("concurrency_3", "rate_40"))]
    assert levels and all(r.tags["client_processes"] == "2" for r in two.results)
    assert all(r.tags["client_processes"] == "1" for r in one.results)
    rate = next(r for r in two.results if r.name == "rate_40_requests_per_sec")
    assert rate.tags["requests_not_sent"] == "0" and 1 <= int(rate.tags["max_in_flight"]) <= 12
    samples = [s for s in two.samples if str(s["result"]).startswith(("concurrency_3", "rate_40"))]
    assert len(samples) == 2 * 3 + 12 and all(s["error"] is None for s in samples), samples


def test_an_in_process_target_refuses_more_than_one_process() -> None:
    ctx = context(ScriptedTarget(lambda prompt: "x"), client_processes="2", concurrency="2")
    try:
        with pytest.raises(UsageError, match="--client-processes 2: needs an HTTP target"):
            asyncio.run(ThroughputSuite().run(ctx))
    finally:
        ctx.memory.stop()

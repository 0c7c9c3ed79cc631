"""Agents retry transient target failures too: the baseline loop and the adapter a framework talks to count them."""

from __future__ import annotations

import asyncio

import aiohttp

from mlx_benchmarks.agents.loop import run_baseline
from mlx_benchmarks.agents.openai_adapter import TargetAdapterServer
from mlx_benchmarks.agents.tasks import select_tasks
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.fault_server import FaultServer, Ok, Status, always, first_attempts

BUSY = Status(429, "slow down", retry_after="0")


def test_baseline_loop_retries_a_429_and_counts_it() -> None:
    async def go() -> tuple[int, str | None, int]:
        async with FaultServer(first_attempts(BUSY, times=2, otherwise=Ok(text=" done"))) as server:
            target = OpenAITarget(server.url)
            await target.start()
            run = await run_baseline(target, select_tasks(None)[0], max_steps=1, max_tokens=8, max_retries=3)
            await target.stop()
            return run.retries, run.failure, len(server.faults)

    retries, failure, requests = asyncio.run(go())
    assert retries == 2 and requests == 3 and failure != "target_error"


def test_baseline_loop_gives_up_after_max_retries() -> None:
    async def go() -> tuple[int, str | None, str | None]:
        async with FaultServer(always(BUSY)) as server:
            target = OpenAITarget(server.url)
            await target.start()
            run = await run_baseline(target, select_tasks(None)[0], max_steps=3, max_tokens=8, max_retries=1)
            await target.stop()
            return run.retries, run.failure, run.error

    retries, failure, error = asyncio.run(go())
    assert retries == 1 and failure == "target_error" and error is not None and "HTTP 429" in error


def test_adapter_retries_for_the_framework_and_counts_it() -> None:
    async def go() -> tuple[int, int, int]:
        async with FaultServer(first_attempts(BUSY)) as server:
            target = OpenAITarget(server.url)
            await target.start()
            adapter = TargetAdapterServer(target, max_tokens=8, max_retries=2)
            url = await adapter.start()
            async with aiohttp.ClientSession() as session, session.post(
                    url + "/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}) as response:
                status = response.status
            await adapter.stop()
            await target.stop()
            return status, adapter.stats.retries, adapter.stats.failures

    status, retries, failures = asyncio.run(go())
    assert status == 200 and retries == 1 and failures == 0


def test_a_429_left_after_retries_is_a_target_error_not_a_rejected_request() -> None:
    from mlx_benchmarks.suites.tool_calling import error_failure

    assert error_failure("TargetRetryable: HTTP 429: slow down") == "target_error"
    assert error_failure("TargetProtocolError: HTTP 400: bad schema") == "rejected"

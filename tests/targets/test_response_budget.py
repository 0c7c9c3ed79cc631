"""The run-wide budget of streamed answer bytes (targets.response_budget) against the fault server."""

from __future__ import annotations

import asyncio

from mlx_benchmarks.measure.load import send
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget
from mlx_benchmarks.targets.response_budget import MIB, ResponseBudget
from tests.doubles.fault_server import FaultServer, Ok, always

ANSWER = Ok(tokens=480, text="x" * 16384, delay_s=0.002)  # 7.5 MiB of text, 7.6 MiB on the wire: two fit in 16


async def three_at_once(budget: ResponseBudget) -> list[str | None]:
    async with FaultServer(always(ANSWER)) as server:
        target = OpenAITarget(server.url, budget=budget)
        await target.start()
        try:
            request = ChatRequest(messages=[{"role": "user", "content": "long"}], max_tokens=512)
            done = await asyncio.gather(*(send(target, request) for _ in range(3)))
        finally:
            await target.stop()
    return [c.error for c in done]


def test_a_third_concurrent_8_mib_answer_is_refused_under_a_16_mib_budget() -> None:
    budget = ResponseBudget(per_answer=16 * MIB, total=16 * MIB)
    errors = asyncio.run(three_at_once(budget))
    refused = [e for e in errors if e]
    assert len(refused) == 1 and "--max-buffered-mb" in str(refused[0]), errors
    assert budget.peak <= 16 * MIB and budget.in_use == 0, "every stream gave its bytes back"
    assert budget.refused == 1


def test_an_answer_over_its_own_cap_fails_and_the_others_finish() -> None:
    budget = ResponseBudget(per_answer=4 * MIB, total=64 * MIB)
    errors = asyncio.run(three_at_once(budget))
    assert all(e and "--max-response-mb" in e for e in errors), errors
    assert budget.in_use == 0


def test_a_budget_that_fits_refuses_nothing() -> None:
    budget = ResponseBudget(per_answer=16 * MIB, total=64 * MIB)
    assert asyncio.run(three_at_once(budget)) == [None, None, None]
    assert budget.peak > 16 * MIB and budget.in_use == 0  # three 7.6 MiB answers overlapped

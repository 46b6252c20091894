"""`providers/stall.StallTimer`: one timer per stream, a wait longer than its limit is `UpstreamTimeout`."""

from __future__ import annotations

import asyncio

import pytest

from convoai_llm.errors import UpstreamTimeout
from convoai_llm.providers.stall import StallTimer


async def test_waits_within_the_limit_return_their_result_many_times() -> None:
    stall = StallTimer()
    try:
        for i in range(20):  # 20 waits of 10 ms under a 50 ms limit: 200 ms in all, never a stall
            assert await stall.wait(asyncio.sleep(0.01, result=i), 0.05) == i
    finally:
        stall.close()


async def test_a_wait_past_its_limit_is_an_upstream_timeout() -> None:
    stall = StallTimer()
    loop = asyncio.get_running_loop()
    try:
        await stall.wait(asyncio.sleep(0.01), 0.05)
        t0 = loop.time()
        with pytest.raises(UpstreamTimeout, match=r"stalled for 0\.05 s"):
            await stall.wait(asyncio.sleep(1), 0.05)
        assert 0.04 <= loop.time() - t0 < 0.5
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    finally:
        stall.close()


async def test_time_between_waits_does_not_count() -> None:
    stall = StallTimer()
    try:
        await stall.wait(asyncio.sleep(0), 0.05)
        await asyncio.sleep(0.12)  # the consumer is busy: no wait is on, nothing fires
        assert await stall.wait(asyncio.sleep(0.01, result="ok"), 0.05) == "ok"
    finally:
        stall.close()


async def test_the_first_limit_and_the_later_one_differ() -> None:
    stall = StallTimer()
    try:
        assert await stall.wait(asyncio.sleep(0.08, result=1), 0.2) == 1  # the first byte may take longer
        with pytest.raises(UpstreamTimeout):
            await stall.wait(asyncio.sleep(0.08), 0.03)
    finally:
        stall.close()


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    async def read() -> None:
        stall = StallTimer()
        try:
            await stall.wait(asyncio.sleep(10), 5.0)
        finally:
            stall.close()

    task = asyncio.create_task(read())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

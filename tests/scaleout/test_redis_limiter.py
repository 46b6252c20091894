"""RedisLimiter against a real Redis: atomic admission across two clients (two replicas), leases, failure modes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from convoai_llm.core.redis_admission import RedisLimiter
from convoai_llm.errors import ConvoError, RateLimited, Unavailable
from tests.scaleout.conftest import Services


def limiter(url: str, **kw: object) -> RedisLimiter:
    options: dict[str, object] = {"rps": 0.0, "burst": 1, "per_key_streams": 0, "max_inflight": 0}
    options.update(kw)
    return RedisLimiter(Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5), **options)  # type: ignore[arg-type]


async def test_burst_is_shared_exactly_under_concurrency(services: Services) -> None:
    replicas = [limiter(services.redis_url, rps=0.01, burst=10) for _ in range(2)]
    caller = f"test:{uuid.uuid4().hex}"

    async def attempt(i: int) -> bool:
        try:
            await replicas[i % 2].acquire(caller)
        except RateLimited as exc:
            assert int(exc.headers()["Retry-After"]) >= 1
            return False
        return True

    admitted = await asyncio.gather(*(attempt(i) for i in range(60)))
    assert sum(admitted) == 10  # 60 racing requests on two clients: exactly the burst, never more
    for replica in replicas:
        await replica.aclose()


async def test_stream_slots_are_released_and_leases_expire(services: Services) -> None:
    a, b = limiter(services.redis_url, per_key_streams=2), limiter(services.redis_url, per_key_streams=2, lease_s=0.3)
    caller = f"test:{uuid.uuid4().hex}"
    first = await a.acquire(caller)
    await b.acquire(caller)  # this one is never released: its replica "died"
    with pytest.raises(RateLimited, match="concurrent streams"):
        await a.acquire(caller)
    await a.release(first)
    third = await a.acquire(caller)  # a released slot is free at once
    with pytest.raises(RateLimited):
        await b.acquire(caller)
    await asyncio.sleep(0.4)  # b's lease (0.3 s) expired: its slot frees itself
    await b.acquire(caller)
    assert a.inflight == 1 and b.inflight == 2
    await a.release(third)
    await a.aclose()
    await b.aclose()


@pytest.mark.parametrize("fail_open", [True, False])
async def test_unreachable_redis_fails_open_or_closed(fail_open: bool, caplog: pytest.LogCaptureFixture) -> None:
    dead = limiter("redis://127.0.0.1:1/0", rps=1.0, burst=1, per_key_streams=1, fail_open=fail_open)
    outcomes: list[str] = []
    for _ in range(3):
        try:
            ticket = await dead.acquire("test:dead")
            outcomes.append("admitted")
            await dead.release(ticket)
        except ConvoError as exc:
            assert isinstance(exc, Unavailable) and exc.status == 503
            outcomes.append("refused")
    assert outcomes == (["admitted"] * 3 if fail_open else ["refused"] * 3)  # the burst of 1 is not enforced
    assert sum("unreachable" in r.message for r in caplog.records) == 1  # logged once per outage
    assert dead.inflight == 0
    await dead.aclose()


async def test_local_inflight_cap_still_applies(services: Services) -> None:
    one = limiter(services.redis_url, max_inflight=1)
    ticket = await one.acquire("test:x")
    with pytest.raises(Unavailable):
        await one.acquire("test:y")
    await one.release(ticket)
    await one.release(await one.acquire("test:y"))
    await one.aclose()

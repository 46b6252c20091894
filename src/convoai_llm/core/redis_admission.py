"""RedisLimiter: per-caller rate limits and stream caps shared by every replica, in Redis.

One Lua script decides atomically (no other command runs between its reads and writes): it refills the
caller's token bucket from Redis's own clock (``TIME``, so replicas' clocks don't matter), drops expired
stream leases, checks both limits and only then takes a token and adds a lease. A stream is a member of a
sorted set scored by its expiry, so a replica killed mid-stream frees its slots after
``redis_stream_lease_s`` instead of leaking them. The global in-flight cap protects one process and stays
local. When Redis can't be reached within ``redis_timeout_s``: ``redis_fail_open`` true admits the request
(only the local cap applies, logged once per outage), false refuses with 503.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from convoai_llm.errors import RateLimited, Unavailable
from convoai_llm.settings import LimitsSettings

log = logging.getLogger(__name__)

ADMIT = """
local rate_key, streams_key = KEYS[1], KEYS[2]
local rps, burst, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease, ticket = tonumber(ARGV[4]), ARGV[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tokens = burst
if rps > 0 then
  local saved = redis.call('HMGET', rate_key, 'tokens', 'updated')
  if saved[1] then
    tokens = math.min(burst, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * rps)
  end
  if tokens < 1 then
    return {1, math.ceil((1 - tokens) / rps)}
  end
end
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', streams_key, '-inf', now)
  if redis.call('ZCARD', streams_key) >= cap then
    return {2, 1}
  end
end
if rps > 0 then
  redis.call('HSET', rate_key, 'tokens', tostring(tokens - 1), 'updated', tostring(now))
  redis.call('EXPIRE', rate_key, math.ceil(burst / rps) + 1)
end
if cap > 0 then
  redis.call('ZADD', streams_key, now + lease, ticket)
  redis.call('EXPIRE', streams_key, math.ceil(lease) + 1)
end
return {0, 0}
"""

RATE_LIMITED, TOO_MANY_STREAMS = 1, 2


@dataclass(slots=True)
class RedisTicket:
    caller: str
    lease: str | None  # the sorted-set member holding a stream slot; None when Redis was not used


class RedisLimiter:
    """The ``Limits`` implementation over Redis; one per process, shared by all requests."""

    def __init__(
        self,
        redis: Redis,
        *,
        rps: float,
        burst: int,
        per_key_streams: int,
        max_inflight: int,
        fail_open: bool = True,
        lease_s: float = 900.0,
        prefix: str = "convoai",
    ) -> None:
        self.rps = rps
        self.burst = max(1, burst)
        self.per_key_streams = per_key_streams
        self.max_inflight = max_inflight
        self.fail_open = fail_open
        self.lease_s = lease_s
        self.prefix = prefix
        self.inflight = 0
        self._redis = redis
        self._admit = redis.register_script(ADMIT)
        self._outage = False

    @classmethod
    def from_settings(cls, settings: LimitsSettings) -> RedisLimiter:
        assert settings.redis_url
        client = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        return cls(
            client,
            rps=settings.rate_limit_rps,
            burst=settings.rate_limit_burst,
            per_key_streams=settings.max_streams_per_key,
            max_inflight=settings.max_inflight,
            fail_open=settings.redis_fail_open,
            lease_s=settings.redis_stream_lease_s,
        )

    async def start(self) -> None:
        return None

    async def ready(self) -> bool:
        """Readiness: Redis answers (or, failing open, the limiter works without it)."""
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return self.fail_open

    def keys(self, caller: str) -> list[str]:
        """The caller's bucket and stream-set keys; the hash tag keeps both in one Redis Cluster slot."""
        return [f"{self.prefix}:{{{caller}}}:rate", f"{self.prefix}:{{{caller}}}:streams"]

    async def acquire(self, caller: str, *, rate: bool = True) -> RedisTicket:
        if self.max_inflight and self.inflight >= self.max_inflight:
            raise Unavailable("The server is at capacity; try again shortly.", retry_after=1)
        ticket = RedisTicket(caller, None)
        rps = self.rps if rate else 0.0
        if rps > 0 or self.per_key_streams > 0:
            ticket.lease = uuid.uuid4().hex
            try:
                code, retry = await self._admit(
                    keys=self.keys(caller),
                    args=[rps, self.burst, self.per_key_streams, self.lease_s, ticket.lease],
                )
            except (RedisError, OSError) as exc:
                ticket.lease = None
                self._unreachable(exc)
            else:
                self._reachable()
                if int(code) == RATE_LIMITED:
                    raise RateLimited("Rate limit exceeded for this key.", retry_after=max(1, int(retry)))
                if int(code) == TOO_MANY_STREAMS:
                    raise RateLimited("Too many concurrent streams for this key.", retry_after=1)
                if self.per_key_streams <= 0:
                    ticket.lease = None
        self.inflight += 1
        return ticket

    async def release(self, ticket: RedisTicket) -> None:
        self.inflight -= 1
        if ticket.lease is None:
            return
        try:
            await self._redis.zrem(self.keys(ticket.caller)[1], ticket.lease)
        except (RedisError, OSError) as exc:  # the lease expires on its own
            log.warning("could not release a stream slot in Redis (%s); it expires in %.0f s", exc, self.lease_s)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _unreachable(self, exc: BaseException) -> None:
        if not self._outage:
            self._outage = True
            mode = "admitting requests (fail open)" if self.fail_open else "refusing requests (fail closed)"
            log.warning("Redis limiter unreachable (%s): %s", type(exc).__name__, mode)
        if not self.fail_open:
            raise Unavailable("Rate limiting is unavailable; try again shortly.", retry_after=1)

    def _reachable(self) -> None:
        if self._outage:
            self._outage = False
            log.warning("Redis limiter reachable again")

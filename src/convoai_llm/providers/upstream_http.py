"""The upstream HTTP client's fixed parts: the pooled session, the prepared headers, the warm-up.

The session never follows redirects (a 3xx would re-send the conversation, and our key, to another
host) and never decompresses: it asks for `identity`, and the provider refuses an encoded body, so a
small gzip bomb cannot cost CPU or memory. Header lines are capped by aiohttp's parser (8 KiB).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import orjson
from multidict import CIMultiDict

from convoai_llm.settings import UpstreamSettings

KEEPALIVE_S = 60.0
"""How long an idle pooled connection is kept (aiohttp's default is 15 s)."""
REWARM_IDLE_S = 30.0
"""After this long without a request, the pool is warmed again (servers close idle connections)."""
_WARM_READ = 64 * 1024


def new_session(settings: UpstreamSettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections, ttl_dns_cache=300, enable_cleanup_closed=True, keepalive_timeout=KEEPALIVE_S
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        # The upstream's cookies (e.g. a CDN's bot-management cookie) would be shared by every caller of
        # this server; none are kept or sent (and no jar is searched per request).
        cookie_jar=aiohttp.DummyCookieJar(),
        json_serialize=lambda o: orjson.dumps(o).decode(),
    )


def base_headers(key: str | None) -> CIMultiDict[str]:
    """An upstream's request headers, built once in aiohttp's own form (a forwarded caller token is added
    per request)."""
    headers = CIMultiDict(
        {"Content-Type": "application/json", "Accept": "text/event-stream", "Accept-Encoding": "identity"}
    )
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def warm_up(session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
    """One `GET {base_url}/models` (no key sent) to open a pooled connection; any outcome is fine."""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
        async with asyncio.timeout(timeout_s):
            async with session.get(f"{base_url}/models", allow_redirects=False) as resp:
                await resp.content.read(_WARM_READ)


async def keep_warm(
    session: aiohttp.ClientSession, base_url: str, timeout_s: float, idle_since: Callable[[], float]
) -> None:
    """Warm at once, then again whenever no request has gone out for `REWARM_IDLE_S` (runs until
    cancelled). `idle_since()` is the loop time of the last request."""
    loop = asyncio.get_running_loop()
    await warm_up(session, base_url, timeout_s)
    while True:
        idle = loop.time() - idle_since()
        if idle >= REWARM_IDLE_S:
            await warm_up(session, base_url, timeout_s)
            idle = 0.0
        await asyncio.sleep(REWARM_IDLE_S - idle)

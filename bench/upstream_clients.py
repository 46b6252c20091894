"""Which HTTP client should talk to the upstream? Client CPU (all threads) and wall time per streaming POST.

The upstream request is the largest single part of convoai-llm's per-request CPU (aiohttp, ~40 %). This
script sends the same streaming chat request (a 3-event SSE answer from the harness's mock) through each
candidate client, one at a time, and prints the client process's CPU time (user + system, every thread:
the Rust clients work on their own threads) and wall time per request. Not part of `make bench`: the
candidates are not the project's dependencies, so they live in a scratch venv:

    python3 -m venv /tmp/cv && /tmp/cv/bin/pip install uvloop orjson aiohttp httpx aiosonic curl_cffi rnet pyreqwest
    .venv/bin/python -m bench.mock_upstream --port 18011 --pacing-ms 0 --deltas 0 &
    for c in aiohttp httpx aiosonic curl_cffi rnet pyreqwest; do
        /tmp/cv/bin/python bench/upstream_clients.py http://127.0.0.1:18011/v1/chat/completions $c 3000; done
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import uvloop

HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream", "Accept-Encoding": "identity",
           "Authorization": "Bearer bench"}  # fmt: skip
BODY = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})
Chunks = Callable[[], AsyncIterator[bytes]]
"""One streaming request through a client: the response body's chunks as that client hands them over."""


def aiohttp_client(url: str) -> Chunks:
    import aiohttp
    from multidict import CIMultiDict
    from yarl import URL

    session = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
    target, headers = URL(url), CIMultiDict(HEADERS)

    async def chunks() -> AsyncIterator[bytes]:
        resp = await session.post(target, data=BODY, headers=headers, allow_redirects=False)
        try:
            while chunk := await resp.content.readany():
                yield chunk
        finally:
            resp.close()

    return chunks


def httpx_client(url: str) -> Chunks:
    import httpx

    client = httpx.AsyncClient(timeout=None)

    async def chunks() -> AsyncIterator[bytes]:
        async with client.stream("POST", url, content=BODY, headers=HEADERS) as resp:
            async for chunk in resp.aiter_raw():
                yield chunk

    return chunks


def aiosonic_client(url: str) -> Chunks:
    import aiosonic  # type: ignore[import-not-found]

    client = aiosonic.HTTPClient()

    async def chunks() -> AsyncIterator[bytes]:
        resp = await client.post(url, data=BODY, headers=HEADERS)
        async for chunk in resp.read_chunks():
            yield chunk

    return chunks


def curl_cffi_client(url: str) -> Chunks:
    from curl_cffi.requests import AsyncSession  # type: ignore[import-not-found]

    session: Any = AsyncSession()

    async def chunks() -> AsyncIterator[bytes]:
        resp = await session.post(url, data=BODY, headers=HEADERS, stream=True)
        try:
            async for chunk in resp.aiter_content():
                yield chunk
        finally:
            await resp.aclose()

    return chunks


def rnet_client(url: str) -> Chunks:
    import rnet  # type: ignore[import-not-found]

    client = rnet.Client()

    async def chunks() -> AsyncIterator[bytes]:
        resp = await client.post(url, body=BODY, headers=HEADERS)
        async with resp.stream() as body:
            async for chunk in body:
                yield chunk

    return chunks


def pyreqwest_client(url: str) -> Chunks:
    from pyreqwest.client import ClientBuilder  # type: ignore[import-not-found]

    client = ClientBuilder().build()

    async def chunks() -> AsyncIterator[bytes]:
        async with client.post(url).headers(HEADERS).body_bytes(BODY).build_streamed() as resp:
            while chunk := await resp.body_reader.read():
                yield chunk

    return chunks


CLIENTS: dict[str, Callable[[str], Chunks]] = {
    "aiohttp": aiohttp_client, "httpx": httpx_client, "aiosonic": aiosonic_client,
    "curl_cffi": curl_cffi_client, "rnet": rnet_client, "pyreqwest": pyreqwest_client,
}  # fmt: skip


async def one(chunks: Chunks) -> int:
    """One whole streaming request: the bytes of its body."""
    size = 0
    async for chunk in chunks():
        size += len(chunk)
    return size


async def measure(url: str, name: str, requests: int) -> None:
    chunks = CLIENTS[name](url)
    size = await one(chunks)
    assert size > 100, f"{name}: only {size} bytes came back"
    for _ in range(200):  # warm-up: the pool, caches
        await one(chunks)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await one(chunks)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{name:10s} CPU {cpu / requests * 1e6:7.1f} µs/request, wall {wall / requests * 1e6:7.1f} µs/request")


if __name__ == "__main__":
    uvloop.run(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3000))

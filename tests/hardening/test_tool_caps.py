"""Item 3 of issue 17, over real sockets: an upstream asking for 1 000 webhook calls runs only the capped
number (per pass and per request), never more than the process-wide limit at once, never retries a
POST, and later webhook calls still work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from convoai_llm.core.tooling import APOLOGY_EN
from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import AppThread
from tests.tools.helpers import calls_pass, text_pass

ASK = [{"role": "user", "content": "Ping everyone."}]


class Hook:
    """A webhook on loopback counting POSTs and the most running at once; `/slow` never answers in time."""

    def __init__(self) -> None:
        self.posts = 0
        self.running = 0
        self.most = 0
        app = web.Application()
        app.router.add_post("/ping", self.ping)
        app.router.add_post("/slow", self.slow)
        self.thread = AppThread(app)

    async def ping(self, request: web.Request) -> web.Response:
        self.posts += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.05)
        finally:
            self.running -= 1
        return web.Response(text="pong")

    async def slow(self, request: web.Request) -> web.Response:
        self.posts += 1
        await asyncio.sleep(30)
        return web.Response(text="late")


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    with h.thread:
        yield h


def config(tmp_path: Path, hook: Hook) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text("".join(f'[[webhooks]]\nname = "{n}"\nurl = "{hook.thread.url}/{n}"\ntimeout_s = 1\n\n'
                            for n in ("ping", "slow")))  # fmt: skip
    return path


def test_a_thousand_calls_are_capped_limited_and_never_retried(serve: ServeFn, hook: Hook, tmp_path: Path) -> None:
    model = ScriptedProvider()
    for _ in range(3):  # the upstream keeps asking for 1 000 calls
        model.enqueue(calls_pass(*[("ping", "{}")] * 1000))
    server = serve(provider=model, tools_config=config(tmp_path, hook), tools_max_calls_per_pass=8,
                   tools_max_calls=12, tools_max_concurrency=3)  # fmt: skip
    started = time.monotonic()
    resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": ASK}, timeout=60)
    assert resp.status_code == 200 and time.monotonic() - started < 15
    assert resp.json()["choices"][0]["message"]["content"].endswith(APOLOGY_EN)
    assert hook.posts == 12  # 8 in the first pass, the 4 left of the request's 12 in the second, none after
    assert hook.most <= 3
    results = [m for m in model.history[-1].messages if m["role"] == "tool"]
    assert len(results) == 12  # only the calls that ran are in the conversation, and the model is told
    assert "992 more tool calls were not run" in results[7]["content"]
    assert "996 more tool calls were not run" in results[11]["content"]


def test_webhook_calls_work_after_a_burst_of_timeouts(serve: ServeFn, hook: Hook, tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.enqueue(calls_pass(*[("slow", "{}")] * 1000))
    model.enqueue(text_pass("Done."))
    model.enqueue(calls_pass(("ping", "{}")))
    model.enqueue(text_pass("Pinged."))
    server = serve(provider=model, tools_config=config(tmp_path, hook), tools_timeout_s=2)
    started = time.monotonic()
    resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": ASK}, timeout=60)
    assert resp.status_code == 200 and time.monotonic() - started < 10
    assert hook.posts == 8  # the default per-pass cap; each timed out once and was not retried
    assert "did not answer" in model.history[1].messages[-1]["content"]
    before = hook.posts
    resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": ASK}, timeout=30)
    assert resp.json()["choices"][0]["message"]["content"] == "Pinged."
    assert hook.posts == before + 1 and model.history[3].messages[-1]["content"] == "pong"

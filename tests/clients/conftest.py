"""One real server per test module: the app under uvicorn on loopback with auth on, proxying to the strict
mock upstream (`tests/servers.py`, as strict as OpenAI). The clients under test call it over real sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from convoai_llm.api.app import create_app
from tests.conftest import UPSTREAM_KEY, make_settings
from tests.servers import MockUpstream, Seen, UvicornThread

CLIENT_KEY = "sk-client-key-for-tests"
TEXT = "Hello from the mock upstream ."
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
HANGUP_WITHIN_S = 2.0
"""A hang-up must close the upstream request well before `mock-long` (200 words, 10 s) would end."""


@dataclass
class Stack:
    server: UvicornThread
    upstream: MockUpstream

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"

    def seen(self, marker: str) -> Seen:
        """The upstream request whose messages carry `marker`."""
        for seen in reversed(self.upstream.seen):
            if marker in str(seen.body.get("messages")):
                return seen
        raise AssertionError(f"no upstream request carried {marker!r}")

    def wait_upstream_closed(self, marker: str) -> Seen:
        """After a client hung up: the upstream request was cancelled (not run to its end) in time."""
        deadline = time.monotonic() + HANGUP_WITHIN_S
        seen = self.seen(marker)
        while seen.closed_at is None and not seen.finished and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen.closed_at is not None and not seen.finished, "the upstream kept streaming after the hang-up"
        return seen


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with MockUpstream(strict=True) as upstream:
        settings = make_settings(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY, api_keys=[CLIENT_KEY],
                                 upstream_retries=0)  # fmt: skip
        with UvicornThread(create_app(settings)) as server:
            yield Stack(server, upstream)


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]

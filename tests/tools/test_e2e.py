"""End to end over a real socket: the server (uvicorn) → a wrapper provider running `tool_loop` → a real
MCP server (stdio) and a real webhook. The caller sees only text, built from the tools' results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson

from convoai_llm.events import Event, Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.tools.loop import tool_loop
from convoai_llm.tools.registry import ToolRegistry
from tests.conftest import ServeFn
from tests.tools.conftest import BOOKING_TOKEN, mcp_block, webhook_block
from tests.tools.helpers import AppThread


class ReadsToolResults:
    """A model stand-in: asks for the weather and a booking, then answers from the tool messages."""

    name: ClassVar[str] = "scripted"

    def __init__(self) -> None:
        self.requests: list[ProviderRequest] = []

    def models(self) -> list[str]:
        return ["tool-model"]

    def validate(self, request: ProviderRequest) -> None:
        return None

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        self.requests.append(request)
        yield Started("tool-model")
        results = [m["content"] for m in request.messages if m["role"] == "tool"]
        if results:
            yield TextDelta("Here is what I found. ")
            yield TextDelta(" ".join(results))
            yield Finish("stop")
        else:
            yield ToolCallDelta(0, "call_a", "function", "get_weather", '{"city": ')
            yield ToolCallDelta(1, "call_b", "function", "book_table", '{"name": "Lin", ')
            yield ToolCallDelta(0, arguments='"Beijing"}')
            yield ToolCallDelta(1, arguments='"party_size": 3, "time": "18:00"}')
            yield Finish("tool_calls")
        yield Usage(10, 5)

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class NoKnowledge:
    async def search(self, query: str, k: int | None = None) -> list[Any]:
        return []


class WithServerTools:
    """What the lead's wiring amounts to: the provider's stream replaced by `tool_loop` around it."""

    name: ClassVar[str] = "scripted"

    def __init__(self, inner: ReadsToolResults, config: Path) -> None:
        self.inner = inner
        self.config = config
        self.registry: ToolRegistry | None = None

    def models(self) -> list[str]:
        return self.inner.models()

    def validate(self, request: ProviderRequest) -> None:
        self.inner.validate(request)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        if self.registry is None:  # built in the server's event loop
            self.registry = await ToolRegistry.from_config(self.config)
        events = tool_loop(self.inner, request, self.registry, filler="One moment.")
        try:
            async for ev in events:
                yield ev
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        if self.registry is not None:
            await self.registry.aclose()


def test_chat_completion_with_server_tools(serve: ServeFn, webhook: AppThread, tmp_path: Path) -> None:
    config = tmp_path / "tools.toml"
    config.write_text(
        mcp_block()
        + webhook_block(f"{webhook.url}/book_table", headers=f'{{ Authorization = "Bearer {BOOKING_TOKEN}" }}')
    )
    model = ReadsToolResults()
    server = serve(provider=WithServerTools(model, config), searcher=NoKnowledge())  # no KB to load
    body = {
        "model": "tool-model",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Weather in Beijing, and a table for 3 at six for Lin?"}],
    }
    chunks: list[dict[str, Any]] = []
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=30) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(orjson.loads(line[6:]))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not any("tool_calls" in d for d in deltas)
    text = "".join(d.get("content") or "" for d in deltas)
    assert text.startswith("One moment. Here is what I found. Beijing: 27 degrees Celsius, sunny. Booked a table for 3")
    assert "under the name Lin" in text
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishes == ["stop"]
    assert [c["usage"] for c in chunks if c.get("usage")] == [
        {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
    ]
    assert len(model.requests) == 2
    assert {t["function"]["name"] for t in model.requests[0].params["tools"]} == {
        "book_table", "get_weather", "enable_forecast",
    }  # fmt: skip

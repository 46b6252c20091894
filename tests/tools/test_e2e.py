"""End to end over a real socket: the server (uvicorn, tools configured by settings) → `tool_loop` → a real
MCP server (stdio) and a real webhook. The caller sees only text, built from the tools' results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson

from convoai_llm.events import Event, Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.lifecycle import Idle
from convoai_llm.providers.base import ProviderRequest
from tests.conftest import ServeFn
from tests.servers import AppThread
from tests.tools.conftest import BOOKING_TOKEN, mcp_block, webhook_block


class ReadsToolResults(Idle):
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


def write_config(tmp_path: Path, webhook: AppThread) -> Path:
    """A tools config naming the example MCP server (stdio) and the test webhook."""
    config = tmp_path / "tools.toml"
    auth = f'{{ Authorization = "Bearer {BOOKING_TOKEN}" }}'
    config.write_text(mcp_block() + webhook_block(f"{webhook.url}/book_table", headers=auth))
    return config


class NoKnowledge:
    async def search(self, query: str, k: int | None = None) -> list[Any]:
        return []


def test_chat_completion_with_server_tools(serve: ServeFn, webhook: AppThread, tmp_path: Path) -> None:
    config = write_config(tmp_path, webhook)
    model = ReadsToolResults()
    # The app's own wiring: CONVOAI_TOOLS_CONFIG wraps the provider in the tool loop.
    server = serve(provider=model, searcher=NoKnowledge(), tools_config=config, tools_filler="One moment.")
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


class KnowsHours:
    async def search(self, query: str, k: int | None = None) -> list[Any]:
        from convoai_llm.rag.passage import Passage

        return [Passage("We open at nine on weekdays.", "hours.md", "Opening hours", 1.0, 1)]


def test_tools_on_rag_and_audio_routes(serve: ServeFn, webhook: AppThread, tmp_path: Path) -> None:
    import base64
    import shutil

    config = write_config(tmp_path, webhook)
    model = ReadsToolResults()
    server = serve(provider=model, searcher=KnowsHours(), tools_config=config, audio_mode="live")
    body = {
        "model": "tool-model",
        "stream": True,
        "messages": [{"role": "user", "content": "Weather, and book for Lin?"}],
    }
    with httpx.stream("POST", f"{server.url}/rag/chat/completions", json=body, timeout=30) as resp:
        lines = [orjson.loads(x[6:]) for x in resp.iter_lines() if x.startswith("data: ") and x != "data: [DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in lines if c["choices"])
    assert text.startswith("Let me check that for you.") and "Beijing: 27 degrees" in text
    assert any("We open at nine" in str(m.get("content")) for m in model.requests[-1].messages)  # passages kept
    if shutil.which("espeak-ng") is None:
        return
    with httpx.stream("POST", f"{server.url}/audio/chat/completions", json=body, timeout=60) as resp:
        lines = [orjson.loads(x[6:]) for x in resp.iter_lines() if x.startswith("data: ") and x != "data: [DONE]"]
    audio = [c["choices"][0]["delta"]["audio"] for c in lines if c["choices"] and "audio" in c["choices"][0]["delta"]]
    spoken = "".join(a.get("transcript", "") for a in audio)
    assert "Beijing: 27 degrees" in spoken and "Booked a table" in spoken
    assert sum(len(base64.b64decode(a["data"])) for a in audio if "data" in a) > 32000  # over a second of speech

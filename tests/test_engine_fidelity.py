"""Requests shaped as Agora's Conversational AI Engine sends them, replayed on every route against an
upstream that rejects non-OpenAI fields the way OpenAI does; the custom_metadata chunk; repeat mode."""

from __future__ import annotations

import copy
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from convoai_llm.rag.passage import Passage
from tests.contract import check
from tests.servers import MockUpstream, UvicornThread

# The engine merges the agent's `llm.params` into the body (model, max_tokens, custom keys at the top
# level), adds `turn_id`/`timestamp` to every message with vendor "custom", `metadata` to history
# messages, `context` (RTM presence), and sends the system_messages first.
ENGINE_REQUEST: dict[str, Any] = {
    "model": "mock-stream",
    "max_tokens": 512,
    "stream": True,
    "app_id": "a1b2c3",
    "channel": "support-room-7",
    "user_uid": "1001",
    "turn_id": 5,
    "timestamp": 1764490000123,
    "context": {"presence": {"1001": {"state": "online"}}},
    "messages": [
        {"role": "system", "content": "You are a helpful voice agent.", "turn_id": 0, "timestamp": 1764490000000},
        {"role": "assistant", "content": "Hi, how can I help?", "turn_id": 1, "timestamp": 1764490001000,
         "metadata": {"source": "greeting", "interrupted": False}},
        {"role": "user", "content": "What time do you open?", "turn_id": 2, "timestamp": 1764490002000,
         "metadata": {"source": "asr", "user": "1001", "original": "what time do you open"}},
        {"role": "assistant", "audio": {"id": "audio_1", "transcript": "We open at nine."}, "turn_id": 3,
         "timestamp": 1764490003000, "metadata": {"interrupted": True, "publisher": "agent"}},
        {"role": "user", "content": [{"type": "text", "text": "And on Sundays?"}], "turn_id": 5,
         "timestamp": 1764490005000, "metadata": {"source": "asr"}},
    ],
}  # fmt: skip


class FixedSearcher:
    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        return [Passage("On Sundays we open at ten.", "hours.md", "Opening hours", 1.0, 1)]


@pytest.fixture(scope="module")
def strict_upstream() -> Iterator[MockUpstream]:
    with MockUpstream(strict=True) as mock:
        yield mock


def sse(server: UvicornThread, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with httpx.stream("POST", server.url + path, json=body, timeout=30,
                      headers={"Authorization": "Bearer customer-key", "X-Agora-Trace": "t-1"}) as resp:  # fmt: skip
        assert resp.status_code == 200, resp.read()
        lines = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [orjson.loads(x) for x in lines[:-1]]


ROUTES = ["/chat/completions", "/v1/rag/chat/completions"]
if shutil.which("espeak-ng"):
    ROUTES.append("/audio/chat/completions")


@pytest.mark.parametrize("path", ROUTES)
def test_engine_requests_work_on_every_route(serve, strict_upstream: MockUpstream, path: str) -> None:  # type: ignore[no-untyped-def]
    server = serve(openai_base_url=strict_upstream.url, searcher=FixedSearcher(), audio_mode="live")
    chunks = sse(server, path + "?agent=demo", copy.deepcopy(ENGINE_REQUEST))
    assert not any("error" in c for c in chunks)
    seen = strict_upstream.seen[-1].body
    assert seen["max_tokens"] == 512 and "turn_id" not in seen and "app_id" not in seen
    assert all(set(m) <= {"role", "content", "name", "tool_calls", "tool_call_id"} for m in seen["messages"])
    assert {"role": "assistant", "content": "We open at nine."} in seen["messages"]
    if "audio" in path:
        assert any("audio" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    else:
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def test_strict_upstream_really_rejects_engine_fields(strict_upstream: MockUpstream) -> None:
    resp = httpx.post(strict_upstream.url + "/chat/completions", json=ENGINE_REQUEST)
    assert resp.status_code == 400 and "Unrecognized request argument" in resp.json()["error"]["message"]


def test_identity_goes_into_the_request_log(
    serve, strict_upstream: MockUpstream, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    server = serve(openai_base_url=strict_upstream.url)
    with caplog.at_level("INFO", logger="convoai_llm.request"):
        sse(server, "/chat/completions", copy.deepcopy(ENGINE_REQUEST))
        deadline = time.monotonic() + 3  # the line is written when the stream closes, just after [DONE]
        while time.monotonic() < deadline and not any(r.name == "convoai_llm.request" for r in caplog.records):
            time.sleep(0.02)
    line = next(r.getMessage() for r in caplog.records if r.name == "convoai_llm.request")
    for part in ("app_id=a1b2c3", "channel=support-room-7", "user_uid=1001", "turn_id=5", "outcome=ok"):
        assert part in line
    assert "customer-key" not in caplog.text


def test_custom_metadata_first_only_when_configured(serve, strict_upstream: MockUpstream) -> None:  # type: ignore[no-untyped-def]
    meta = {"interruptable": False, "tts_params": {"speed": 1.1}}
    server = serve(openai_base_url=strict_upstream.url, searcher=FixedSearcher(), rag_custom_metadata=meta)
    rag = sse(server, "/rag/chat/completions", copy.deepcopy(ENGINE_REQUEST))
    assert rag[0]["object"] == "chat.completion.custom_metadata" and rag[0]["metadata"] == meta
    assert rag[0]["choices"] == [] and rag[0]["id"] == rag[1]["id"]
    assert [c["object"] for c in rag].count("chat.completion.custom_metadata") == 1
    for c in rag[1:]:
        check("CreateChatCompletionStreamResponse", c)
    assert rag[2]["choices"][0]["delta"]["content"] == "Let me check that for you. "
    chat = sse(server, "/chat/completions", copy.deepcopy(ENGINE_REQUEST))
    assert all(c["object"] == "chat.completion.chunk" for c in chat)
    override = {**copy.deepcopy(ENGINE_REQUEST), "custom_metadata": {"interruptable": True}}
    chat = sse(server, "/chat/completions", override)
    assert chat[0]["object"] == "chat.completion.custom_metadata" and chat[0]["metadata"] == {"interruptable": True}
    assert "custom_metadata" not in strict_upstream.seen[-1].body


def test_text_route_repeat_mode(serve, strict_upstream: MockUpstream) -> None:  # type: ignore[no-untyped-def]
    server = serve(openai_base_url=strict_upstream.url, text_assistant_last="repeat")
    before = len(strict_upstream.seen)
    body = {"messages": [{"role": "assistant", "content": "Welcome to Aurora!"}], "stream": True}
    chunks = sse(server, "/chat/completions", body)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Welcome to Aurora!"
    assert len(strict_upstream.seen) == before
    default = serve(openai_base_url=strict_upstream.url)
    sse(default, "/chat/completions", body)
    assert len(strict_upstream.seen) == before + 1  # default: answered normally

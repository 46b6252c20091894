"""Bug 14.1 over real sockets: the README's Agora configuration ("Connect to Agora") against an upstream
as strict as OpenAI. The engine asks this server for speech (`modalities: ["audio"]`); the server makes
the speech and sends the upstream a plain text request, which OpenAI's rules accept."""

from __future__ import annotations

import base64
import copy
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from convoai_llm.api.app import create_app
from tests.clients.conftest import CLIENT_KEY, TEXT, Stack
from tests.conftest import UPSTREAM_KEY, make_settings
from tests.servers import MockUpstream, UvicornThread, openai_shape_problem

# What the engine sends for the README's audio `llm` block: `params` merged in at the top level, its own
# keys on messages (vendor "custom"), caller identity as custom params.
AGORA_AUDIO: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "modalities": ["audio"],
    "audio": {"voice": "alloy", "format": "pcm16"},
    "stream": True,
    "stream_options": {"include_usage": True},
    "app_id": "a1b2c3", "channel": "support-room-7", "user_uid": "1001", "turn_id": 4,
    "context": {"presence": {"1001": {"state": "online"}}},
    "messages": [
        {"role": "system", "content": "You are a helpful voice agent. Answer briefly.", "turn_id": 0},
        {"role": "assistant", "audio": {"id": "audio_1", "transcript": "Hello, how can I help?"}, "turn_id": 1,
         "timestamp": 1764490001000, "metadata": {"source": "greeting", "interrupted": False}},
        {"role": "user", "content": "When do you open?", "turn_id": 4, "timestamp": 1764490004000,
         "metadata": {"source": "asr", "user": "1001"}},
    ],
}  # fmt: skip
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="live speech needs espeak-ng")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with MockUpstream(strict=True) as upstream:
        settings = make_settings(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY, api_keys=[CLIENT_KEY],
                                 audio_mode="live", audio_realtime=False, upstream_retries=0)  # fmt: skip
        with UvicornThread(create_app(settings)) as server:
            yield Stack(server, upstream)


def post_sse(stack: Stack, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    with httpx.stream("POST", stack.server.url + path, json=body, headers=headers, timeout=30) as resp:
        assert resp.status_code == 200, resp.read()
        data = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [orjson.loads(d) for d in data[:-1]]


def agora_request(marker: str, modalities: list[str]) -> dict[str, Any]:
    body = copy.deepcopy(AGORA_AUDIO)
    body["modalities"] = modalities
    body["messages"][-1]["content"] += f" {marker}"
    return body


@needs_espeak
@pytest.mark.parametrize("modalities", [["audio"], ["text", "audio"]])
def test_agora_audio_turn_speaks_through_a_strict_upstream(stack: Stack, modalities: list[str]) -> None:
    marker = f"agora-{uuid.uuid4().hex[:8]}"
    chunks = post_sse(stack, "/audio/chat/completions", agora_request(marker, modalities))
    assert not any("error" in c for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    audio = [d["audio"] for d in deltas if "audio" in d]
    transcript = "".join(a.get("transcript", "") for a in audio)
    pcm = b"".join(base64.b64decode(a["data"]) for a in audio if "data" in a)
    # the transcript is what was spoken: the same words, punctuation attached as written text has it
    assert transcript.replace(" ", "") == TEXT.replace(" ", "") and len(pcm) > 16000 * 2 // 4  # > 0.25 s of PCM16
    assert ("".join(d.get("content") or "" for d in deltas) == TEXT) == ("text" in modalities)
    seen = stack.seen(marker)
    assert seen.rejected is None and seen.finished
    assert not {"modalities", "audio", "app_id", "turn_id", "context"} & set(seen.body)
    assert all(set(m) <= {"role", "content", "name"} for m in seen.body["messages"])


def test_the_strict_upstream_rejects_what_the_audio_route_used_to_send() -> None:
    """The body the server sent before the fix (modalities + audio forwarded) gets OpenAI's 400."""
    old = {"model": "gpt-4o-mini", "modalities": ["audio"], "audio": {"voice": "alloy", "format": "pcm16"},
           "stream": True, "messages": [{"role": "user", "content": "When do you open?"}]}  # fmt: skip
    assert openai_shape_problem(old) is not None
    assert openai_shape_problem({k: v for k, v in old.items() if k not in ("modalities", "audio")}) is None


@pytest.mark.parametrize("path", ["/chat/completions", "/rag/chat/completions"])
def test_text_routes_drop_what_openai_rejects(stack: Stack, path: str) -> None:
    marker = f"nulls-{uuid.uuid4().hex[:8]}"
    body = {**agora_request(marker, ["text"]), "temperature": None, "max_tokens": None, "tools": [],
            "tool_choice": "auto", "parallel_tool_calls": True, "stop": []}  # fmt: skip
    chunks = post_sse(stack, path, body)
    assert not any("error" in c for c in chunks)
    assert TEXT in "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    seen = stack.seen(marker)
    assert seen.rejected is None
    forbidden = {"temperature", "max_tokens", "tools", "tool_choice", "parallel_tool_calls", "stop", "modalities"}
    assert not forbidden & set(seen.body)

"""Non-streaming audio (`stream` omitted, as a plain client sends it): `message.audio` holds the whole
reply's PCM16 and transcript, `message.content` the text when text is asked for."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import openai

from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.contract import check

AUDIO_DIR = Path(__file__).resolve().parents[2] / "examples" / "audio"


def test_clip_reply_as_one_message_audio(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), audio_dir=AUDIO_DIR, audio_realtime=False)
    body = {"messages": [{"role": "user", "content": "Hi there"}], "modalities": ["audio"]}
    resp = httpx.post(server.url + "/v1/audio/chat/completions", json=body)
    assert resp.status_code == 200
    done = resp.json()
    message = done["choices"][0]["message"]
    assert message["content"] is None  # audio only was asked for
    audio = message["audio"]
    assert base64.b64decode(audio["data"], validate=True) == (AUDIO_DIR / "default.pcm").read_bytes()
    assert audio["transcript"] == "Hello from convoai-llm."
    assert audio["id"].startswith("audio_")
    assert audio["expires_at"] == done["created"]
    check("CreateChatCompletionResponse", done)


def test_text_and_audio_with_the_openai_client(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), audio_dir=AUDIO_DIR, audio_realtime=False)
    with openai.OpenAI(base_url=server.url + "/v1/audio", api_key="x", max_retries=0) as api:
        done = api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi there"}], modalities=["text", "audio"]
        )
    message = done.choices[0].message
    assert message.content == "Hello from convoai-llm."
    assert message.audio is not None
    assert message.audio.transcript == "Hello from convoai-llm."
    assert base64.b64decode(message.audio.data) == (AUDIO_DIR / "default.pcm").read_bytes()

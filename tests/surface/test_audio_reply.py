"""Non-streaming audio: the deltas of a reply folded into one `message.audio`."""

from __future__ import annotations

import base64

import pytest

from convoai_llm.errors import ConvoError
from convoai_llm.events import AudioDelta
from convoai_llm.schemas.audio_reply import AudioReply


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_pcm_is_joined_decoded_not_as_base64_strings() -> None:
    chunks = [bytes(range(256)) * 5, b"\x01\x02" * 640, b"\x7f\x00" * 17]  # 1280, 1280, 34 bytes: padded base64
    reply = AudioReply()
    reply.add(AudioDelta("audio_1", transcript="Hello there."))
    for c in chunks[:2]:
        reply.add(AudioDelta("audio_1", data=b64(c)))
    reply.add(AudioDelta("audio_1", transcript=" How can I help?"))
    reply.add(AudioDelta("audio_1", data=b64(chunks[2])))
    audio = reply.message_audio(expires_at=1700000000)
    assert audio is not None
    assert audio["id"] == "audio_1"
    assert base64.b64decode(audio["data"], validate=True) == b"".join(chunks)
    assert audio["transcript"] == "Hello there. How can I help?"
    assert audio["expires_at"] == 1700000000
    assert "".join(b64(c) for c in chunks) != audio["data"]  # what a naive join would have sent


def test_no_audio_deltas_means_no_audio() -> None:
    assert AudioReply().message_audio(0) is None


def test_transcript_only_reply_has_empty_data() -> None:
    reply = AudioReply()
    reply.add(AudioDelta("a", transcript="…"))
    assert reply.message_audio(1) == {"id": "a", "data": "", "transcript": "…", "expires_at": 1}


def test_invalid_base64_from_the_speech_stage_is_a_server_error() -> None:
    reply = AudioReply()
    with pytest.raises(ConvoError) as info:
        reply.add(AudioDelta("a", data="not base64!"))
    assert info.value.status == 500

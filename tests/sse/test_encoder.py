from __future__ import annotations

import orjson

from convoai_llm.errors import UpstreamTimeout
from convoai_llm.events import AudioDelta, AudioWord, Finish, Metadata, TextDelta, ToolCallDelta, Usage
from convoai_llm.sse.encoder import DONE, ChunkEncoder, error_chunk


def payload(raw: bytes) -> dict[str, object]:
    assert raw.startswith(b"data: ") and raw.endswith(b"\n\n")
    data: dict[str, object] = orjson.loads(raw[6:])
    return data


def test_one_id_and_created_role_only_on_first() -> None:
    enc = ChunkEncoder("m", completion_id="chatcmpl-1", created=5)
    a, b, c = payload(enc.role()), payload(enc.text(TextDelta("hi"))), payload(enc.finish(Finish("length")))
    assert {x["id"] for x in (a, b, c)} == {"chatcmpl-1"} and {x["created"] for x in (a, b, c)} == {5}
    assert a["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    assert b["choices"] == [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]
    assert c["choices"] == [{"index": 0, "delta": {}, "finish_reason": "length"}]


def test_role_goes_on_first_delta_even_without_role_chunk() -> None:
    enc = ChunkEncoder("m")
    assert payload(enc.text(TextDelta("x")))["choices"][0]["delta"] == {"role": "assistant", "content": "x"}  # type: ignore[index]


def test_text_is_escaped() -> None:
    enc = ChunkEncoder("m")
    enc.role()
    raw = enc.text(TextDelta('quote " newline \n\n data: [DONE]'))
    assert raw.count(b"\n\n") == 1
    assert payload(raw)["choices"][0]["delta"]["content"] == 'quote " newline \n\n data: [DONE]'  # type: ignore[index]


def test_usage_chunk_has_empty_choices() -> None:
    body = payload(ChunkEncoder("m").usage(Usage(3, 4)))
    assert body["choices"] == [] and body["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }


def test_tool_call_omits_absent_fields() -> None:
    enc = ChunkEncoder("m")
    enc.role()
    first = payload(enc.tool_call(ToolCallDelta(0, "c1", "function", "f", "")))
    more = payload(enc.tool_call(ToolCallDelta(0, arguments='{"a"')))
    assert first["choices"][0]["delta"]["tool_calls"] == [  # type: ignore[index]
        {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
    ]
    assert more["choices"][0]["delta"]["tool_calls"] == [{"index": 0, "function": {"arguments": '{"a"'}}]  # type: ignore[index]


def test_audio_and_words() -> None:
    enc = ChunkEncoder("m")
    enc.role()
    words = (AudioWord("hi", 0, 120),)
    body = payload(enc.audio(AudioDelta("r1", transcript="hi", words=words)))
    delta = body["choices"][0]["delta"]  # type: ignore[index]
    assert "content" not in delta  # text goes out as its own TextDelta (modalities text+audio)
    word = {"text": "hi", "start_ts": 0, "end_ts": 120, "duration": 120}
    assert delta["audio"] == {"id": "r1", "transcript": "hi", "words": [word]}


def test_metadata_chunk() -> None:
    body = payload(ChunkEncoder("m", completion_id="chatcmpl-z").metadata(Metadata({"interruptable": False})))
    assert body["object"] == "chat.completion.custom_metadata" and body["choices"] == []
    assert body["metadata"] == {"interruptable": False} and body["id"] == "chatcmpl-z"


def test_error_chunk_and_done() -> None:
    body = payload(error_chunk(UpstreamTimeout("slow").envelope()))
    assert body == {"error": {"message": "slow", "type": "upstream_error", "param": None, "code": "upstream_timeout"}}
    assert DONE == b"data: [DONE]\n\n"

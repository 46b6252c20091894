from __future__ import annotations

import pytest

from convoai_llm.errors import RequestError
from convoai_llm.schemas.request import parse_chat_request


def test_assistant_audio_transcript_is_content() -> None:
    req = parse_chat_request(
        b'{"messages":[{"role":"assistant","audio":{"id":"a","transcript":"said this"}},{"role":"user","content":"x"}]}'
    )
    assert req.messages[0].text() == "said this"
    assert req.messages[0].to_upstream() == {"role": "assistant", "content": "said this"}


def test_content_parts_text() -> None:
    req = parse_chat_request(
        b'{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}},'
        b'{"type":"text","text":"b"}]}]}'
    )
    assert req.messages[0].text() == "ab"
    assert req.messages[0].to_upstream()["content"][1] == {"type": "image_url", "image_url": {"url": "u"}}


def test_engine_fields_accepted_not_forwarded() -> None:
    req = parse_chat_request(
        b'{"model":"m","messages":[{"role":"user","content":"x","turn_id":1,"timestamp":2,"metadata":{"a":1}}],'
        b'"turn_id":1,"timestamp":2,"context":{},"app_id":"a","channel":"c","user_uid":"u","seed":7,'
        b'"response_format":{"type":"text"},"max_tokens":9,"stream_options":{"include_usage":true}}'
    )
    assert req.forwarded_params() == {"seed": 7, "response_format": {"type": "text"}, "max_tokens": 9}
    assert req.messages[0].to_upstream() == {"role": "user", "content": "x"}
    assert req.include_usage and req.token_limit == 9


def test_tool_messages_keep_ids() -> None:
    req = parse_chat_request(
        b'{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",'
        b'"function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"42"}]}'
    )
    assert req.messages[1].to_upstream() == {"role": "tool", "content": "42", "tool_call_id": "c"}
    assert req.messages[0].to_upstream()["tool_calls"][0]["id"] == "c"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"messages":[{"role":"assistant"}]}', "messages[0]"),
        (b'{"messages":[{"role":"user","content":"x"}],"max_tokens":0}', "max_tokens"),
        (b'{"messages":[{"role":"user","content":"x"}],"stop":5}', "stop"),
        (b'{"messages":[{"role":"user","content":"x"}],"modalities":["video"]}', "modalities[0]"),
    ],
)
def test_invalid(body: bytes, param: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_chat_request(body)
    assert info.value.param == param and info.value.status == 400

"""Legacy completions: the request becomes one chat turn; the answer is `text_completion` JSON or chunks,
checked against OpenAI's spec and the `openai` package's `Completion` type."""

from __future__ import annotations

import orjson
import pytest
from openai.types import Completion

from convoai_llm.errors import RequestError, UpstreamTimeout
from convoai_llm.events import Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.schemas.completions import parse_completion_request
from convoai_llm.sse.completions import CompletionEncoder
from tests.contract import check


def test_prompt_becomes_one_user_turn_with_the_sampling_fields() -> None:
    req = parse_completion_request(orjson.dumps({
        "model": "m", "prompt": ["Say hi"], "max_tokens": 8, "temperature": 0.1, "stop": ["\n"], "seed": 3,
        "stream": True, "stream_options": {"include_usage": True}, "logprobs": None, "n": 1, "app_id": "a",
    }))  # fmt: skip
    chat = req.to_chat()
    assert [(m.role, m.text()) for m in chat.messages] == [("user", "Say hi")]
    assert chat.stream is True
    assert chat.include_usage is True
    assert chat.model == "m"
    assert chat.forwarded_params() == {"max_tokens": 8, "temperature": 0.1, "stop": ["\n"], "seed": 3}
    assert (chat.model_extra or {})["app_id"] == "a"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": "a", "echo": True}, "echo"),
        ({"prompt": "a", "suffix": "z"}, "suffix"),
        ({"prompt": "a", "logprobs": 2}, "logprobs"),
        ({"prompt": "a", "best_of": 3}, "best_of"),
        ({"prompt": "a", "n": 2}, "n"),
        ({"prompt": "a", "max_tokens": "4"}, "max_tokens"),
        ({"prompt": "a", "temperature": 5}, "temperature"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_the_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_completion_request(orjson.dumps(body))
    assert info.value.status == 400
    assert info.value.param == param


def test_stream_chunks_and_usage_match_the_spec() -> None:
    enc = CompletionEncoder("m-1", include_usage=True)
    events = [Started("m-1"), TextDelta("Hel"), TextDelta(""), TextDelta("lo"), Finish("length"), Usage(3, 2)]
    raw = enc.open() + b"".join(enc.encode(ev) for ev in events) + enc.end() + enc.done()
    payloads = [block.removeprefix(b"data: ") for block in raw.split(b"\n\n") if block]
    assert payloads[-1] == b"[DONE]"
    chunks = [orjson.loads(p) for p in payloads[:-1]]
    assert {(c["id"], c["created"], c["object"], c["model"]) for c in chunks} == {
        (enc.id, enc.created, "text_completion", "m-1")}  # fmt: skip
    assert enc.id.startswith("cmpl-")
    assert [c["choices"][0]["text"] for c in chunks[:3]] == ["Hel", "lo", ""]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:3]] == [None, None, "length"]
    assert chunks[3]["choices"] == []
    assert chunks[3]["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    for c in chunks[2:]:
        check("CreateCompletionResponse", c)
        Completion.model_validate(c)
    for c in chunks[:2]:  # the spec has no chunk schema: a streamed choice's finish_reason is null until the end
        check("CreateCompletionResponse", {**c, "choices": [{**c["choices"][0], "finish_reason": "stop"}]})


def test_no_usage_chunk_unless_asked_and_errors_end_with_done() -> None:
    enc = CompletionEncoder("m")
    raw = b"".join(enc.encode(ev) for ev in [TextDelta("a"), Finish("stop"), Usage(1, 1)]) + enc.end()
    assert b'"usage"' not in raw
    assert enc.done() == b"data: [DONE]\n\n"
    failed = enc.error(UpstreamTimeout("stalled").envelope())
    assert failed.startswith(b'data: {"error":{"message":"stalled"')


def test_body_and_a_tool_call_finish_map_to_stop() -> None:
    enc = CompletionEncoder("m-2", completion_id="cmpl-1", created=5)
    for ev in [Started("m-2"), TextDelta("Hel"), TextDelta("lo."), ToolCallDelta(0, "c"), Finish("tool_calls"),
               Usage(1, 2)]:  # fmt: skip
        enc.encode(ev)
    body = enc.body()
    check("CreateCompletionResponse", body)
    done = Completion.model_validate(body)
    assert (done.id, done.created, done.choices[0].text) == ("cmpl-1", 5, "Hello.")
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.total_tokens == 3
    assert CompletionEncoder("m").body()["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}

"""The Responses request becomes the chat request the pipeline takes; what cannot be served is a 400
naming the field."""

from __future__ import annotations

import orjson
import pytest

from convoai_llm.errors import RequestError
from convoai_llm.schemas.responses import parse_responses_request


def parse(**body: object) -> object:
    return parse_responses_request(orjson.dumps(body))


def chat(**body: object):  # type: ignore[no-untyped-def]
    return parse_responses_request(orjson.dumps(body)).to_chat()


def test_string_input_and_instructions_become_system_and_user_turns() -> None:
    req = chat(model="m", input="Hi there", instructions="Be brief.", stream=True, max_output_tokens=40)
    assert [(m.role, m.text()) for m in req.messages] == [("system", "Be brief."), ("user", "Hi there")]
    assert req.stream is True
    assert req.model == "m"
    assert req.token_limit == 40
    assert req.forwarded_params() == {"max_tokens": 40}


def test_items_with_parts_and_a_tool_round_trip() -> None:
    req = chat(input=[
        {"role": "developer", "content": "Use tools."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in "},
                                                        {"type": "input_text", "text": "Paris?"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "22 C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "noon"}]},
    ])  # fmt: skip
    up = [m.to_upstream() for m in req.messages]
    assert up[0] == {"role": "developer", "content": "Use tools."}
    assert req.messages[1].text() == "Weather in Paris?"
    assert up[2]["role"] == "assistant"
    assert up[2]["content"] == [{"type": "text", "text": "Checking."}]
    assert [c["id"] for c in up[2]["tool_calls"]] == ["call_1", "call_2"]  # merged into the assistant turn
    assert up[2]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    assert up[3] == {"role": "tool", "content": "22 C", "tool_call_id": "call_1"}
    assert up[4] == {"role": "tool", "content": "noon", "tool_call_id": "call_2"}


def test_function_call_without_a_preceding_assistant_turn_opens_one() -> None:
    req = chat(input=[{"role": "user", "content": "x"},
                      {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}])  # fmt: skip
    assert req.messages[1].role == "assistant"
    assert req.messages[1].content is None
    assert req.messages[1].tool_calls is not None


def test_image_part_becomes_an_image_url_part() -> None:
    req = chat(input=[{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png",
                                                    "detail": "low"}]}])  # fmt: skip
    assert req.messages[0].to_upstream()["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}
    ]


def test_tools_choice_format_and_sampling_map_to_chat_fields() -> None:
    req = chat(
        input="x", temperature=0.3, top_p=0.9, user="u1", parallel_tool_calls=False,
        tools=[{"type": "function", "name": "lookup", "description": "Find.", "strict": True,
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}],
        tool_choice={"type": "function", "name": "lookup"},
        text={"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}},
        reasoning={"effort": "low"},
    )  # fmt: skip
    params = req.forwarded_params()
    assert params["tools"] == [{"type": "function", "function": {
        "name": "lookup", "description": "Find.", "strict": True,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]  # fmt: skip
    assert params["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    assert params["reasoning_effort"] == "low"
    assert (params["temperature"], params["top_p"], params["user"], params["parallel_tool_calls"]) == (
        0.3, 0.9, "u1", False)  # fmt: skip


def test_echo_repeats_the_request_in_responses_form() -> None:
    req = parse_responses_request(orjson.dumps({
        "input": "x", "instructions": "Be brief.", "metadata": {"k": "v"}, "tool_choice": "required",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]}))  # fmt: skip
    echo = req.echo()
    assert echo["instructions"] == "Be brief."
    assert echo["metadata"] == {"k": "v"}
    assert echo["tool_choice"] == "required"
    assert echo["tools"] == [{"type": "function", "name": "f", "description": None,
                              "parameters": {"type": "object"}, "strict": None}]  # fmt: skip
    assert echo["text"] == {"format": {"type": "text"}}
    assert echo["parallel_tool_calls"] is True


def test_rag_sources_and_identity_fields_are_kept_unknown_fields_ignored() -> None:
    req = chat(input="x", rag_sources=True, app_id="a1", whatever={"deep": 1})
    assert (req.model_extra or {}) == {"rag_sources": True, "app_id": "a1"}
    assert "whatever" not in req.forwarded_params()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "input"),
        ({"input": []}, "input"),
        ({"input": 3}, "input"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "max_output_tokens": "512"}, "max_output_tokens"),
        ({"input": "x", "stream": "true"}, "stream"),
        ({"input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "x", "tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": [{"role": "user", "content": "a"}, {"type": "computer_call"}]}, "input[1].type"),
        ({"input": [{"role": "user"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "a"}]}, "input[0].role"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "function_call", "name": "f"}]}, "input[0]"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0]"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
    ],
)
def test_bad_requests_name_the_param(body: dict[str, object], param: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_responses_request(orjson.dumps(body)).to_chat()
    assert info.value.status == 400
    assert info.value.param == param


@pytest.mark.parametrize("raw", [b"", b"  ", b"[1]", b"{bad"])
def test_bodies_that_are_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(RequestError):
        parse_responses_request(raw)

"""Generated input on the Responses and legacy Completions parsers: a chat request or a `RequestError`
(a 400 naming a param), never another exception."""

from __future__ import annotations

import os
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoai_llm.errors import RequestError
from convoai_llm.schemas.completions import parse_completion_request
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.responses import parse_responses_request

EXAMPLES = int(os.environ.get("CONVOAI_FUZZ_EXAMPLES", "60")) * 5
scalars = st.none() | st.booleans() | st.integers(-5, 100) | st.floats(-1, 3) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
part = st.fixed_dictionaries({"type": st.sampled_from(["input_text", "output_text", "input_image", "input_file", "x"])},
                             optional={"text": values, "image_url": values})  # fmt: skip
item = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning", "zzz"]),
              "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]) | values,
              "content": st.text(max_size=5) | st.lists(part, max_size=2) | values,
              "call_id": st.text(max_size=4) | values, "name": values, "arguments": values, "output": values},
)  # fmt: skip
responses_body = st.fixed_dictionaries(
    {},
    optional={"input": st.text(max_size=5) | st.lists(item, max_size=4) | values, "instructions": values,
              "model": values, "stream": values, "tools": st.lists(st.dictionaries(
                  st.sampled_from(["type", "name", "parameters", "strict"]), values), max_size=2) | values,
              "tool_choice": values, "max_output_tokens": values, "temperature": values, "text": values},
)  # fmt: skip
completion_body = st.fixed_dictionaries(
    {},
    optional={"prompt": values, "model": values, "stream": values, "max_tokens": values, "echo": values,
              "stop": values, "logprobs": values, "stream_options": values},
)  # fmt: skip


def parsed_or_refused(parse: Any, body: dict[str, Any]) -> None:
    try:
        chat = parse(orjson.dumps(body)).to_chat()
    except RequestError as exc:
        assert exc.status == 400
        assert exc.message
        return
    assert isinstance(chat, ChatRequest)
    assert chat.messages


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(responses_body)
def test_responses_parser_never_fails_otherwise(body: dict[str, Any]) -> None:
    parsed_or_refused(parse_responses_request, body)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(completion_body)
def test_completions_parser_never_fails_otherwise(body: dict[str, Any]) -> None:
    parsed_or_refused(parse_completion_request, body)

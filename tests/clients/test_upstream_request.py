"""The request the server builds for its upstream (`schemas/request.py`: `to_upstream`, `forwarded_params`),
checked against OpenAI's rules (`tests/openai_rules.py`) for inbound requests OpenAI clients and the engine
really send."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from convoai_llm.schemas.request import parse_chat_request
from tests.servers import openai_rules

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
INBOUND: dict[str, dict[str, Any]] = {
    "engine audio turn": {
        "modalities": ["audio"], "audio": {"voice": "alloy", "format": "pcm16"}, "app_id": "a", "turn_id": 3,
        "messages": [{"role": "user", "content": "hi", "turn_id": 3, "timestamp": 1, "metadata": {"x": 1}}],
    },
    "explicit nulls": {"temperature": None, "top_p": None, "max_tokens": None, "seed": None, "user": None,
                       "messages": [{"role": "user", "content": "hi"}]},
    "empty tools with tool options": {"tools": [], "tool_choice": "auto", "parallel_tool_calls": False, "stop": [],
                                      "messages": [{"role": "user", "content": "hi"}]},
    "tool round trip, keys on the wrong roles": {"tools": [TOOL], "messages": [
        {"role": "user", "content": "weather?", "tool_call_id": "stray"},
        {"role": "assistant", "content": None, "tool_calls": [CALL], "name": "agent"},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": None},
    ]},
}  # fmt: skip


def upstream_body(inbound: dict[str, Any]) -> dict[str, Any]:
    """As `providers/openai_compat.py` sends it."""
    req = parse_chat_request(orjson.dumps(inbound))
    messages = [m.to_upstream() for m in req.messages]
    return {**req.forwarded_params(), "model": "gpt-4o-mini", "messages": messages, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip


@pytest.mark.parametrize("name", list(INBOUND))
def test_openai_accepts_what_the_server_sends(name: str) -> None:
    rules = openai_rules()
    assert rules.check({**INBOUND[name], "model": "gpt-4o-mini"}) is not None  # as sent, OpenAI refuses it
    assert rules.check(upstream_body(INBOUND[name])) is None


def test_what_is_dropped_and_what_is_kept() -> None:
    body = upstream_body({**INBOUND["tool round trip, keys on the wrong roles"], "temperature": 0.3, "seed": 7,
                          "tool_choice": "auto", "modalities": ["text"]})  # fmt: skip
    assert body["temperature"] == 0.3 and body["seed"] == 7 and body["tool_choice"] == "auto"
    assert body["tools"] == [TOOL] and "modalities" not in body
    assert body["messages"] == [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL], "name": "agent"},
        {"role": "tool", "content": "", "tool_call_id": "call_1"},
    ]
    assert upstream_body(INBOUND["explicit nulls"]).keys() == {"model", "messages", "stream", "stream_options"}


def test_assistant_audio_becomes_content() -> None:
    body = upstream_body({"messages": [
        {"role": "assistant", "audio": {"id": "a1", "transcript": "Hello."}, "tool_calls": []},
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}], "name": "ops"},
        {"role": "user", "content": "hi"},
    ]})  # fmt: skip
    assert body["messages"][:2] == [
        {"role": "assistant", "content": "Hello."},
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}], "name": "ops"},
    ]
    assert openai_rules().check(body) is None


def test_rules_read_from_the_spec_check_types() -> None:
    rules = openai_rules()
    if not rules.checks_types:
        pytest.skip("OpenAI's spec (shared/openai/openapi.yaml) is not beside this checkout: unknown-key checks only")
    base = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    bad = rules.check({**base, "temperature": "warm"})
    assert bad is not None and (bad.param, bad.code) == ("temperature", "invalid_type")
    bad = rules.check({**base, "messages": [{"role": "tool", "content": "x"}]})
    assert bad is not None and bad.param == "messages[0].tool_call_id"
    assert rules.check({**base, "temperature": None, "response_format": {"type": "json_object"}}) is None

"""The nesting walk is skipped only when the body cannot nest deep enough to fail it (`core/pipeline.py`)."""

from __future__ import annotations

import pytest

from convoai_llm.core.pipeline import MAX_NESTING, _may_nest, too_deep
from convoai_llm.schemas.request import ChatRequest, parse_chat_request

HEAD = b'{"model": "m", "messages": [{"role": "user", "content": "x"}], '


def nested(field: bytes, depth: int) -> bytes:
    return HEAD + b'"' + field + b'": ' + b"[" * depth + b"]" * depth + b"}"


def test_bound_is_the_bracket_count() -> None:
    body = HEAD + b'"tools": [{"type": "function", "function": {"name": "f[{"}}]}'
    assert parse_chat_request(body).nesting_bound == body.count(b"[") + body.count(b"{") == 8
    assert ChatRequest.model_validate({"messages": [{"role": "user", "content": "x"}]}).nesting_bound is None


@pytest.mark.parametrize("field", [b"metadata", b"logit_bias", b"turn_id"])
@pytest.mark.parametrize("depth", range(MAX_NESTING - 6, MAX_NESTING + 3))
def test_skipped_walk_never_hides_a_deep_request(field: bytes, depth: int) -> None:
    req = parse_chat_request(nested(field, depth))
    messages = [m.to_upstream() for m in req.messages]
    deep = too_deep((messages, req.forwarded_params(), req.model_extra), MAX_NESTING)
    assert deep == (depth >= MAX_NESTING)  # the tuple, then the field's dict: depth + 1 levels
    assert _may_nest(req) or not deep


def test_small_bodies_skip_the_walk() -> None:
    assert not _may_nest(parse_chat_request(nested(b"metadata", 3)))
    assert _may_nest(parse_chat_request(nested(b"metadata", MAX_NESTING)))

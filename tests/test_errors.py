from __future__ import annotations

import pytest

from convoai_llm.errors import (
    AuthError,
    BodyTooLarge,
    RateLimited,
    RequestError,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)  # fmt: skip
from convoai_llm.events import Finish, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.chunks import parse_chunk, redact


@pytest.mark.parametrize(
    ("upstream", "ours"),
    [(400, 400), (401, 401), (404, 404), (429, 429), (500, 502), (502, 502), (503, 503), (504, 504)],
)
def test_upstream_status_mapping(upstream: int, ours: int) -> None:
    err = UpstreamStatus(upstream, "m", type="t" if upstream < 500 else None)
    assert err.status == ours
    assert err.envelope()["error"]["type"] == ("t" if upstream < 500 else "upstream_error")


def test_statuses_and_retry_after() -> None:
    assert (RequestError("x").status, BodyTooLarge("x").status, AuthError("x").status) == (400, 413, 401)
    assert (UpstreamTimeout("x").status, UpstreamUnavailable("x").status) == (504, 503)
    assert RateLimited("x", retry_after=2.4).headers() == {"Retry-After": "2"}
    assert RequestError("x", param="messages").envelope() == {
        "error": {"message": "x", "type": "invalid_request_error", "param": "messages", "code": None}
    }


def test_redact_removes_keys() -> None:
    text = "Incorrect API key provided: sk-proj-abcdef123456. Also secret-xyz."
    out = redact(text, "secret-xyz")
    assert "sk-proj-abcdef123456" not in out and "secret-xyz" not in out and "Incorrect API key" in out


def test_parse_chunk_events() -> None:
    assert parse_chunk('{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}') == [TextDelta("a")]
    assert parse_chunk('{"choices":[{"delta":{},"finish_reason":"function_call"}]}') == [Finish("tool_calls")]
    assert parse_chunk('{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}') == [Usage(1, 2)]
    calls = parse_chunk('{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}}]}')
    assert calls == [ToolCallDelta(1, None, None, None, "{}")]
    for bad in ("{oops", "[1]", '{"error": {"message": "boom"}}'):
        with pytest.raises(UpstreamError):
            parse_chunk(bad)

"""Hostile input, generated: schemathesis against the app's own OpenAPI schema over a real socket, and
hypothesis on the request parser. Zero 500s, zero hangs, every refusal an OpenAI error body.

The CI profile is short (`CONVOAI_FUZZ_EXAMPLES`, default 60 per operation); `make fuzz` runs a long one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoai_llm.api.app import create_app
from convoai_llm.errors import RequestError
from convoai_llm.providers.scripted import ScriptedProvider
from convoai_llm.schemas.request import parse_chat_request
from tests.conftest import make_settings
from tests.servers import UvicornThread

EXAMPLES = int(os.environ.get("CONVOAI_FUZZ_EXAMPLES", "60"))
SCHEMA = schemathesis.openapi.from_dict(create_app(make_settings(), provider=ScriptedProvider()).openapi())


class EndlessProvider(ScriptedProvider):
    """Answers every request (the scripted default), so fuzzed valid requests stream for real."""


@pytest.fixture(scope="module")
def live() -> Iterator[UvicornThread]:
    app = create_app(make_settings(audio_mode="live", body_timeout_s=5), provider=EndlessProvider())
    with UvicornThread(app) as server:
        yield server


@SCHEMA.include(method="POST").parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_completion_routes(case: schemathesis.Case, live: UvicornThread) -> None:
    response = case.call(base_url=live.url, timeout=20)
    assert response.status_code < 500 or response.status_code == 503, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
    else:
        ctype = str(response.headers.get("content-type", [""])[0])
        assert ctype.startswith("application/json") or stream_ended(case.path, response.text)


RESPONSES_END = frozenset({"response.completed", "response.incomplete", "response.failed"})


def stream_ended(path: str, text: str) -> bool:
    """Chat and legacy completion streams end with `[DONE]`; a Responses stream with its terminal event."""
    import orjson

    last = text.rstrip().rsplit("\n", 1)[-1]
    if path.endswith("/responses"):
        return last.startswith("data: ") and orjson.loads(last[6:]).get("type") in RESPONSES_END
    return last == "data: [DONE]"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", "developer", "function", "x"])
messages = st.lists(
    st.fixed_dictionaries(
        {"role": roles},
        optional={"content": json_values, "tool_call_id": json_values, "audio": json_values, "tool_calls": json_values},
    ),
    max_size=4,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "messages": messages | json_values,
        "model": json_values,
        "stream": json_values,
        "temperature": json_values,
        "stream_options": json_values,
        "stop": json_values,
    },
)


@given(bodies)
@settings(max_examples=EXAMPLES * 5, deadline=None)
def test_parser_accepts_or_names_the_problem(body: dict[str, object]) -> None:
    import orjson

    try:
        req = parse_chat_request(orjson.dumps(body))
    except RequestError as exc:
        assert exc.status == 400 and exc.message
        return
    assert req.messages and all(
        m.role in {"system", "user", "assistant", "tool", "developer", "function"} for m in req.messages
    )


@given(st.binary(max_size=300))
@settings(max_examples=EXAMPLES * 5, deadline=None)
def test_parser_on_arbitrary_bytes(raw: bytes) -> None:
    try:
        parse_chat_request(raw)
    except RequestError as exc:
        assert exc.status == 400

"""The server-side tool loop through the strict mock upstream: the tool definitions it adds and the
assistant/tool turns it feeds back are requests OpenAI's rules accept, and a plain client gets the answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from convoai_llm.api.app import create_app
from tests.clients.conftest import CLIENT_KEY, Stack, user
from tests.conftest import UPSTREAM_KEY, make_settings
from tests.servers import MockUpstream, UvicornThread

WEATHER = '''
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"{city}: sunny, 24 C"
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("tools")
    (folder / "weather_fn.py").write_text(WEATHER)
    (folder / "tools.toml").write_text('[[functions]]\ntarget = "weather_fn.py:get_weather"\n')
    with MockUpstream(strict=True) as upstream:
        settings = make_settings(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY, api_keys=[CLIENT_KEY],
                                 tools_config=folder / "tools.toml", upstream_retries=0)  # fmt: skip
        with UvicornThread(create_app(settings)) as server:
            yield Stack(server, upstream)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_loop_requests_pass_openais_rules(stack: Stack, stream: bool) -> None:
    marker = f"loop-{uuid.uuid4().hex[:8]}"
    client = openai.OpenAI(base_url=stack.base_url, api_key=CLIENT_KEY, max_retries=0)
    if stream:
        chunks = client.chat.completions.create(model="mock-tools", messages=user(marker), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = client.chat.completions.create(model="mock-tools", messages=user(marker)).choices[0].message.content
    assert text == "The tool said: Paris: sunny, 24 C"
    passes = [s for s in stack.upstream.seen if marker in str(s.body.get("messages"))]
    assert len(passes) == 2 and all(s.rejected is None for s in passes)
    assert passes[0].body["tools"][0]["function"]["name"] == "get_weather"
    assert [m["role"] for m in passes[1].body["messages"]] == ["user", "assistant", "tool"]

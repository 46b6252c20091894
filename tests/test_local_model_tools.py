"""The real embedded model with the server-side tool loop over a real socket: the caller sends a plain
request, the model calls an `examples/tools` function, the server runs it and the model answers from its
result. (The client-side round trip, where the caller runs the tool, is in `test_local_model.py`.)"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from convoai_llm.providers.local_catalog import DEFAULT_MODEL, installed, spec_for
from tests.servers import UvicornThread

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(not installed(spec_for(DEFAULT_MODEL)), reason="the default model's packages are not installed"),
]
FUNCTIONS = Path(__file__).resolve().parents[1] / "examples" / "tools" / "functions.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UvicornThread]:
    """The local model with `CONVOAI_TOOLS_CONFIG` naming the example's `order_status` function."""
    from convoai_llm.api.app import create_app
    from tests.conftest import make_settings

    config = tmp_path_factory.mktemp("tools") / "tools.toml"
    config.write_text(f'[[functions]]\ntarget = "{FUNCTIONS}:order_status"\n')
    with UvicornThread(create_app(make_settings(provider="local", tools_config=config))) as running:
        yield running


def test_the_model_calls_a_server_tool_and_answers_from_its_result(server: UvicornThread) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    chunks = list(
        client.chat.completions.create(
            model="",
            messages=[{"role": "user", "content": "Where is my order A100?"}],
            stream=True,
            temperature=0,
            max_tokens=80,
        )
    )
    answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # only the tool knows: "Order A100 is shipped on Monday, arriving Thursday."
    assert "thursday" in answer.lower() or "shipped" in answer.lower(), answer
    assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)  # the server ran it; none leaked
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]

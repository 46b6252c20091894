"""LocalProvider at its llama.cpp seam: a fake model that streams what a test scripts, records what it got."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from convoai_llm.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.providers.local import LocalProvider
from convoai_llm.providers.local_budget import PromptBudget
from tests.conftest import make_settings

TOOLS = [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]


class FakeLlama:
    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.calls: list[dict[str, Any]] = []
        self.n_tokens = 0
        self.produced = 0

    def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        for piece in self.pieces:
            self.produced += 1
            self.n_tokens += 1
            yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


def provider(pieces: list[str], tools: bool = True) -> tuple[LocalProvider, FakeLlama]:
    p = LocalProvider(make_settings(provider="local"))
    fake = FakeLlama(pieces)
    p._llama = fake
    p.supports_tools = tools
    return p, fake


async def collect(p: LocalProvider, messages: list[dict[str, Any]] | None = None, **params: Any) -> list[Event]:
    turns = messages or [{"role": "user", "content": "Hi"}]
    request = ProviderRequest(model="x", messages=turns, params=params)
    p.validate(request)
    return [e async for e in p.stream(request)]


async def test_null_params_are_unset_not_passed_to_llama() -> None:
    p, fake = provider(["Hello."])
    events = await collect(p, temperature=None, top_p=None, max_tokens=None, stop=None, seed=None)
    kwargs = fake.calls[0]
    assert None not in kwargs.values()
    assert kwargs["temperature"] == 0.2 and kwargs["max_tokens"] == 256
    assert events[-1] == Finish("stop")


async def test_caller_values_win_and_a_voice_prompt_is_added() -> None:
    p, fake = provider(["Hello."])
    await collect(p, temperature=0.7, max_tokens=12, seed=3)
    kwargs = fake.calls[0]
    assert (kwargs["temperature"], kwargs["max_tokens"], kwargs["seed"]) == (0.7, 12, 3)
    assert kwargs["messages"][0]["role"] == "system" and "voice" in kwargs["messages"][0]["content"]


async def test_a_knowledge_base_turn_is_greedy_unless_the_caller_says_otherwise() -> None:
    p, fake = provider(["Ten."])
    grounded = PromptBudget.prompt([{"role": "user", "content": "When?"}], ["Open at 10."], "en")
    await collect(p, grounded)
    await collect(p, PromptBudget.prompt([{"role": "user", "content": "Who?"}], [], "en"))
    await collect(p, grounded, temperature=0.5)
    assert [c["temperature"] for c in fake.calls] == [0.0, 0.0, 0.5]


async def test_a_loop_is_cut_with_a_clean_stop() -> None:
    p, fake = provider(["I am happy to help you today. "] * 50)
    events = await collect(p)
    assert fake.produced < 10
    assert isinstance(events[-2], Usage) and events[-1] == Finish("stop")


async def test_tool_calls_become_events_and_finish_tool_calls() -> None:
    p, fake = provider(["<tool_", 'call>\n{"name": "get_time", ', '"arguments": {}}\n</tool_call>'])
    events = await collect(p, tools=TOOLS)
    assert fake.calls[0]["tools"] == TOOLS
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c.name, c.arguments) for c in calls] == [("get_time", "{}")]
    assert not [e for e in events if isinstance(e, TextDelta)]
    assert events[-1] == Finish("tool_calls")


async def test_without_tool_support_tools_are_ignored_and_the_answer_is_text() -> None:
    p, fake = provider(["It is noon."], tools=False)
    request = ProviderRequest(model="x", messages=[{"role": "user", "content": "Time?"}], params={"tools": TOOLS})
    assert p.tools_ignored(request)
    events = [e async for e in p.stream(request)]
    assert "tools" not in fake.calls[0]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It is noon."]
    assert events[-1] == Finish("stop")

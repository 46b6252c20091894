"""The tool loop against a scripted provider: what the caller hears, what the model is sent back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from convoai_llm.core.tooling import APOLOGY_EN, APOLOGY_ZH, tool_loop
from convoai_llm.errors import RequestError, UpstreamError
from convoai_llm.events import Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.providers.scripted import Fail, ScriptedProvider, Sleep
from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolFailed
from tests.tools.helpers import calls_pass, collect, make_tool, spoken, text_pass, tool_messages

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def request(text: str = "What's the weather in Paris?", **params: Any) -> ProviderRequest:
    return ProviderRequest(model="m", messages=[{"role": "user", "content": text}], params=params)


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def registry(seen: list[dict[str, Any]]) -> ToolRegistry:
    async def weather(args: dict[str, Any]) -> str:
        seen.append({"tool": "weather", **args})
        return f"{args['city']}: 18 C, light rain"

    async def boom(args: dict[str, Any]) -> str:
        raise RuntimeError("database is down")

    async def slow(args: dict[str, Any]) -> str:
        await asyncio.sleep(5)
        return "late"

    async def big(args: dict[str, Any]) -> str:
        return "x" * 10_000

    async def fails_politely(args: dict[str, Any]) -> str:
        raise ToolFailed("No seats left.")

    return ToolRegistry(
        [
            make_tool("get_weather", weather, WEATHER_SCHEMA),
            make_tool("boom", boom),
            make_tool("slow", slow),
            make_tool("big", big),
            make_tool("fails_politely", fails_politely),
        ]
    )


async def test_one_call_the_caller_hears_only_text(registry: ToolRegistry, seen: list[dict[str, Any]]) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}')))
    provider.enqueue(text_pass("It is 18 degrees ", "and raining in Paris."))
    events = await collect(tool_loop(provider, request(), registry))

    assert isinstance(events[0], Started)
    assert not any(isinstance(ev, ToolCallDelta) for ev in events)
    assert spoken(events) == "It is 18 degrees and raining in Paris."
    assert events[-1] == Finish("stop")
    assert seen == [{"tool": "weather", "city": "Paris"}]
    first, second = provider.history
    assert [t["function"]["name"] for t in first.params["tools"]] == [
        "get_weather", "boom", "slow", "big", "fails_politely",
    ]  # fmt: skip
    assert first.params["tools"][0]["function"]["parameters"] == WEATHER_SCHEMA
    assistant, tool = second.messages[1], second.messages[2]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_get_weather_0", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
    }  # fmt: skip
    assert tool == {"role": "tool", "tool_call_id": "call_get_weather_0", "content": "Paris: 18 C, light rain"}
    assert provider.closed == 2


async def test_parallel_calls_run_concurrently() -> None:
    started: list[float] = []

    async def wait(args: dict[str, Any]) -> str:
        started.append(time.monotonic())
        await asyncio.sleep(0.3)
        return f"done {args['n']}"

    registry = ToolRegistry([make_tool("wait", wait)])
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(*[("wait", f'{{"n": {i}}}') for i in range(4)]))
    provider.enqueue(text_pass("All four done."))
    t0 = time.monotonic()
    events = await collect(tool_loop(provider, request(), registry))
    assert time.monotonic() - t0 < 1.0  # four 0.3 s calls, not 1.2 s in a row
    assert spoken(events) == "All four done."
    results = tool_messages(provider.history[1].messages)
    assert [m["content"] for m in results] == ["done 0", "done 1", "done 2", "done 3"]
    assert [m["tool_call_id"] for m in results] == [f"call_wait_{i}" for i in range(4)]
    assert len(provider.history[1].messages[1]["tool_calls"]) == 4


async def test_multi_pass_chain_with_text_between_passes(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}'), text="Let me check Paris."))
    provider.enqueue(calls_pass(("get_weather", '{"city": "London"}'), text="Now London."))
    provider.enqueue(text_pass("Paris is warmer."))
    events = await collect(tool_loop(provider, request(), registry))
    # text from every pass streams out, passes joined by a space
    assert spoken(events) == "Let me check Paris. Now London. Paris is warmer."
    third = provider.history[2].messages
    assert [m["role"] for m in third] == ["user", "assistant", "tool", "assistant", "tool"]
    assert third[1]["content"] == "Let me check Paris."
    assert [m["content"] for m in tool_messages(third)] == ["Paris: 18 C, light rain", "London: 18 C, light rain"]


async def test_text_streams_before_the_tools_run(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("slow", "{}"), text="One moment."))
    provider.enqueue(text_pass("Done."))
    stream = tool_loop(provider, request(), registry, tool_timeout_s=0.5)
    assert isinstance(await anext(stream), Started)
    t0 = time.monotonic()
    assert await anext(stream) == TextDelta("One moment.")
    assert time.monotonic() - t0 < 0.2
    rest = await collect(stream)
    assert spoken(rest) == " Done."


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("boom", "{}", "Error: The tool boom failed: RuntimeError: database is down"),
        ("fails_politely", "{}", "Error: No seats left."),
        ("slow", "{}", "Error: The tool slow did not answer within 0.2 seconds."),
        ("no_such_tool", "{}", "Error: There is no tool named 'no_such_tool'. Available tools: get_weather, boom"),
        ("get_weather", '{"city": "Par', 'Error: The arguments are not valid JSON: \'{"city": "Par\'.'),
        ("get_weather", '["Paris"]', "Error: The arguments must be a JSON object."),
    ],
    ids=["raises", "tool-error", "timeout", "unknown-tool", "invalid-json", "not-an-object"],
)
async def test_failures_become_tool_messages_and_the_model_carries_on(
    registry: ToolRegistry, name: str, arguments: str, expected: str
) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass((name, arguments)))
    provider.enqueue(text_pass("Sorry, that did not work."))
    t0 = time.monotonic()
    events = await collect(tool_loop(provider, request(), registry, tool_timeout_s=0.2))
    assert time.monotonic() - t0 < 1.5
    assert spoken(events) == "Sorry, that did not work."
    assert events[-1] == Finish("stop")
    (message,) = tool_messages(provider.history[1].messages)
    assert message["content"].startswith(expected)


async def test_one_failing_call_does_not_spoil_the_others(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("boom", "{}"), ("get_weather", '{"city": "Oslo"}')))
    provider.enqueue(text_pass("Oslo is rainy."))
    await collect(tool_loop(provider, request(), registry))
    contents = [m["content"] for m in tool_messages(provider.history[1].messages)]
    assert contents[0].startswith("Error: The tool boom failed")
    assert contents[1] == "Oslo: 18 C, light rain"


async def test_too_long_result_is_truncated_with_a_note(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("big", "{}")))
    provider.enqueue(text_pass("ok"))
    await collect(tool_loop(provider, request(), registry, max_result_chars=100))
    (message,) = tool_messages(provider.history[1].messages)
    assert message["content"].startswith("x" * 100 + "\n[Truncated: the tool returned 10000 characters")
    assert len(message["content"]) < 200


async def test_pass_limit_ends_with_a_spoken_apology(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    for _ in range(3):
        provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}')))
    events = await asyncio.wait_for(collect(tool_loop(provider, request(), registry, max_passes=3)), 5)
    assert len(provider.history) == 3
    assert spoken(events) == APOLOGY_EN
    assert events[-1] == Finish("stop")
    assert sum(isinstance(ev, Finish) for ev in events) == 1


async def test_apology_follows_the_users_language(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "北京"}'), text="我查一下。"))
    events = await collect(tool_loop(provider, request("北京天气怎么样"), registry, max_passes=1))
    assert spoken(events) == "我查一下。" + APOLOGY_ZH  # no space inserted between Chinese sentences


async def test_filler_is_spoken_once_while_tools_run(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}')))
    provider.enqueue(calls_pass(("get_weather", '{"city": "Rome"}')))
    provider.enqueue(text_pass("Both are rainy."))
    events = await collect(tool_loop(provider, request(), registry, filler="One moment."))
    assert spoken(events) == "One moment. Both are rainy."


async def test_no_filler_when_the_model_already_spoke(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}'), text="Checking."))
    provider.enqueue(text_pass("Rainy."))
    events = await collect(tool_loop(provider, request(), registry, filler="One moment."))
    assert spoken(events) == "Checking. Rainy."


async def test_usage_is_summed_once_at_the_end(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("get_weather", '{"city": "Paris"}'), usage=Usage(10, 5)))
    provider.enqueue(text_pass("Rainy.", usage=Usage(30, 2)))
    events = await collect(tool_loop(provider, request(), registry))
    usages = [ev for ev in events if isinstance(ev, Usage)]
    assert usages == [Usage(40, 7)]
    assert events[-1] == Finish("stop")
    assert [type(ev).__name__ for ev in events].count("Finish") == 1


async def test_callers_own_tools_pass_through_untouched(registry: ToolRegistry) -> None:
    caller_tools = [{"type": "function", "function": {"name": "client_side", "parameters": {}}}]
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("client_side", '{"a": 1}')))
    events = await collect(tool_loop(provider, request(tools=caller_tools), registry))
    assert provider.history[0].params["tools"] == caller_tools
    assert len(provider.history) == 1
    deltas = [ev for ev in events if isinstance(ev, ToolCallDelta)]
    assert "".join(d.arguments or "" for d in deltas) == '{"a": 1}'
    assert events[-1] == Finish("tool_calls")


async def test_empty_registry_passes_through() -> None:
    provider = ScriptedProvider()
    provider.enqueue(text_pass("hi"))
    events = await collect(tool_loop(provider, request(), ToolRegistry()))
    assert "tools" not in provider.history[0].params
    assert spoken(events) == "hi"


async def test_errors_before_started_raise_before_the_first_event(registry: ToolRegistry) -> None:
    provider = ScriptedProvider()
    provider.enqueue([Fail(UpstreamError("upstream down"))])
    stream = tool_loop(provider, request(), registry)
    with pytest.raises(UpstreamError, match="upstream down"):
        await anext(stream)


async def test_a_provider_without_tool_support_answers_without_tools(registry: ToolRegistry) -> None:
    class NoTools(ScriptedProvider):
        def validate(self, request: ProviderRequest) -> None:
            if request.params.get("tools"):
                raise RequestError("no tools here", param="tools")

    provider = NoTools()
    provider.enqueue(text_pass("plain answer"))
    events = await collect(tool_loop(provider, request(), registry))
    assert spoken(events) == "plain answer"
    assert "tools" not in provider.history[0].params


def cancellable_slow_tool() -> tuple[Callable[[dict[str, Any]], Awaitable[str]], asyncio.Event, asyncio.Event]:
    """A tool that runs for 30 s, and events set when it starts and when it is cancelled."""
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(args: dict[str, Any]) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    return slow, started, cancelled


async def test_hang_up_during_a_slow_tool_cancels_it() -> None:
    slow, started, cancelled = cancellable_slow_tool()
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("slow", "{}")))
    provider.enqueue([Started("scripted"), Sleep(30), Finish("stop")])
    stream = tool_loop(provider, request(), ToolRegistry([make_tool("slow", slow)]), tool_timeout_s=60)

    async def consume() -> None:
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()  # the client hung up while the tool runs
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 1)
    assert provider.closed == 1
    assert len(provider.history) == 1  # the provider was not called again


async def test_aclose_at_the_filler_cancels_running_tools() -> None:
    slow, started, cancelled = cancellable_slow_tool()
    provider = ScriptedProvider()
    provider.enqueue(calls_pass(("slow", "{}")))
    stream = tool_loop(provider, request(), ToolRegistry([make_tool("slow", slow)]), filler="Hold on.")
    assert isinstance(await anext(stream), Started)
    assert await anext(stream) == TextDelta("Hold on.")
    await asyncio.wait_for(started.wait(), 1)  # the tool runs while the filler is being spoken
    await stream.aclose()  # type: ignore[attr-defined]
    assert cancelled.is_set()

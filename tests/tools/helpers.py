"""Helpers for the tools tests: scripted tool-call passes, in-test tools, a webhook server thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from convoai_llm.events import Event, Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.scripted import Step
from convoai_llm.tools.tool import Tool, empty_schema


def calls_pass(*calls: tuple[str, str], text: str = "", usage: Usage | None = None) -> list[Step]:
    """One upstream pass asking for `calls` [(name, arguments_json)], the argument strings split in two
    and the calls' pieces interleaved (as parallel calls stream)."""
    steps: list[Step] = [Started("scripted")]
    if text:
        steps.append(TextDelta(text))
    for i, (name, _) in enumerate(calls):
        steps.append(ToolCallDelta(i, f"call_{name}_{i}", "function", name, ""))
    for i, (_, args) in enumerate(calls):
        steps.append(ToolCallDelta(i, arguments=args[: len(args) // 2]))
    for i, (_, args) in enumerate(calls):
        steps.append(ToolCallDelta(i, arguments=args[len(args) // 2 :]))
    steps.append(Finish("tool_calls"))
    if usage is not None:
        steps.append(usage)
    return steps


def text_pass(*pieces: str, usage: Usage | None = None) -> list[Step]:
    steps: list[Step] = [Started("scripted"), *(TextDelta(p) for p in pieces), Finish("stop")]
    if usage is not None:
        steps.append(usage)
    return steps


def make_tool(name: str, fn: Callable[[dict[str, Any]], Awaitable[str]], schema: dict[str, Any] | None = None) -> Tool:
    return Tool(name, f"test tool {name}", schema or empty_schema(), "test", fn)


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    return [ev async for ev in events]


def spoken(events: list[Event]) -> str:
    return "".join(ev.text for ev in events if isinstance(ev, TextDelta))


def tool_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["role"] == "tool"]

"""The tool loop: call the provider, run the tool calls it asks for, call it again, stream only text.

`tool_loop(provider, preq, registry)` has the contract of a provider stream: everything that can fail
with a status code (validation, the first upstream call up to its `Started`) happens before its first
event, which is `Started`; then deltas; then one `Usage` (summed over passes, if any pass reported one)
and one `Finish`. Closing it (client hang-up) cancels running tools and closes the upstream stream.

- The caller sent its own `tools` (or the registry is empty): the provider stream passes through untouched.
- Otherwise the upstream gets `registry.definitions()`. Tool-call deltas are assembled, never forwarded.
  A pass that ends with tool calls runs them in parallel (each with `tool_timeout_s`), appends the
  assistant message and one `tool` message per call, and calls the provider again. Text streams to
  the caller as it comes; consecutive passes are joined with a space so sentences never run together.
- A failing call (exception, timeout, unknown name, invalid JSON arguments) becomes a `tool` message
  saying so; a result over `max_result_chars` is cut, with a note. The model carries on.
- `filler` (e.g. "One moment.") is spoken once, when a pass asks for tools without saying anything.
- A pass that still asks for tools when `max_passes` upstream calls have been made ends the answer with
  a short apology (English, or Chinese when the user wrote Chinese) and `Finish("stop")`.
- A provider that rejects tools (`RequestError` naming `tools`, e.g. a model without tool support) is
  answered without server tools.
- Bounds against a hostile or confused upstream: at most `max_calls_per_pass` calls run per pass and
  `max_calls` per request (the rest are dropped from the conversation, and the model is told so); a
  pass whose calls are all beyond the request's cap ends with the apology. Every call waits for a
  slot of one limiter shared by the whole process (`max_concurrency` calls running at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from convoai_llm.errors import RequestError
from convoai_llm.events import Event, Finish, FinishReason, Metadata, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import Provider, ProviderRequest, aclose_quietly, start_stream
from convoai_llm.schemas.calls import CallBuffer, ToolCall
from convoai_llm.settings import ToolsSettings
from convoai_llm.text import join_spoken, language_of, last_user_text
from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolError

log = logging.getLogger("convoai_llm.tools.loop")

APOLOGY_EN = "Sorry, I couldn't finish that just now. Could you ask me again, maybe in a different way?"
APOLOGY_ZH = "抱歉，这个问题我暂时没能处理完，请换个方式再问我一次。"  # noqa: RUF001
CANCEL_WAIT_S = 2.0


@dataclass(slots=True)
class Pass:
    """What one provider call said and asked for."""

    said: list[str] = field(default_factory=list)
    calls: CallBuffer = field(default_factory=CallBuffer)
    finish: FinishReason | None = None


@dataclass(slots=True)
class LoopState:
    messages: list[dict[str, Any]]
    spoken: str = ""
    """The text sent so far (its last character decides whether the next piece needs a space)."""
    usage: Usage | None = None
    filler_sent: bool = False
    calls_run: int = 0

    def say(self, text: str) -> TextDelta:
        piece = join_spoken(self.spoken, text)
        self.spoken = (self.spoken + piece)[-1:]
        return TextDelta(piece)

    def add_usage(self, ev: Usage) -> None:
        u = self.usage
        self.usage = (
            ev if u is None else Usage(u.prompt_tokens + ev.prompt_tokens, u.completion_tokens + ev.completion_tokens)
        )


@dataclass(frozen=True, slots=True)
class CallBudget:
    """How many tool calls may run: per pass, per request, and at once in the process (`slots`)."""

    per_pass: int = 8
    per_request: int = 16
    slots: asyncio.Semaphore | None = None

    def take(self, asked: list[ToolCall], used: int) -> list[ToolCall]:
        """The calls to run of those `asked`, when `used` have run in this request already."""
        calls = asked[: max(0, min(len(asked), self.per_pass, self.per_request - used))]
        if len(calls) < len(asked):
            log.warning("tool loop: %d tool calls asked in one pass; running %d", len(asked), len(calls))
        return calls


class ToolLoop:
    """The loop with its registry, settings and the process-wide call limiter, built once at start-up."""

    def __init__(self, registry: ToolRegistry, settings: ToolsSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.budget = CallBudget(
            settings.max_calls_per_pass, settings.max_calls, asyncio.Semaphore(max(1, settings.max_concurrency))
        )

    def run(self, provider: Provider, preq: ProviderRequest) -> AsyncIterator[Event]:
        s = self.settings
        return tool_loop(
            provider, preq, self.registry, max_passes=s.max_passes, tool_timeout_s=s.timeout_s,
            max_result_chars=s.max_result_chars, filler=s.filler or None, apology=s.apology, budget=self.budget,
        )  # fmt: skip

    async def start(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        await self.registry.aclose()


async def tool_loop(
    provider: Provider,
    preq: ProviderRequest,
    registry: ToolRegistry,
    *,
    max_passes: int = 5,
    tool_timeout_s: float = 10.0,
    max_result_chars: int = 4000,
    filler: str | None = None,
    apology: str | None = None,
    budget: CallBudget | None = None,
) -> AsyncIterator[Event]:
    budget = budget or CallBudget()
    request = upstream_request(provider, preq, registry)
    stream, model = await start_stream(provider, request)
    tasks: list[asyncio.Task[str]] = []
    try:
        yield Started(model)
        if request is preq:
            async for ev in stream:
                yield ev
            return
        state = LoopState(list(request.messages))
        finish: FinishReason | None = None
        for pass_no in range(1, max(1, max_passes) + 1):
            if pass_no > 1:
                stream, _ = await start_stream(provider, replace(request, messages=state.messages))
            result = Pass()
            async for ev in one_pass(stream, state, result, first=pass_no == 1):
                yield ev
            finish = result.finish
            if not result.calls:
                break
            asked = result.calls.calls(f"call_{pass_no}")
            calls = budget.take(asked, state.calls_run)
            if pass_no >= max_passes or not calls:
                log.warning("tool loop: still asking for tools after %d passes, %d calls; apologising",
                            pass_no, state.calls_run)  # fmt: skip
                yield state.say(apology or apology_for(state.messages))
                finish = "stop"
                break
            state.calls_run += len(calls)
            run = functools.partial(execute, registry, timeout_s=tool_timeout_s, max_chars=max_result_chars,
                                    slots=budget.slots)  # fmt: skip
            tasks = [asyncio.create_task(run(c), name=f"tool-{c.name}") for c in calls]
            if filler and not state.filler_sent and not result.said:
                state.filler_sent = True
                yield state.say(filler)
            results = await asyncio.gather(*tasks)
            tasks = []
            state.messages.extend(tool_messages(result, calls, results, dropped=len(asked) - len(calls)))
        if state.usage is not None:
            yield state.usage
        yield Finish(finish if finish is not None and finish != "tool_calls" else "stop")
    finally:
        await cancel(tasks)
        await aclose_quietly(stream)


async def one_pass(
    stream: AsyncIterator[Event], state: LoopState, result: Pass, *, first: bool
) -> AsyncIterator[Event]:
    """One provider call: text goes on at once (joined to what was said before), tool calls are kept."""
    async for ev in stream:
        if isinstance(ev, TextDelta):
            if ev.text:
                piece = state.say(ev.text) if not result.said else TextDelta(ev.text)
                if result.said:
                    state.spoken = ev.text[-1]
                result.said.append(ev.text)
                yield piece
        elif isinstance(ev, ToolCallDelta):
            result.calls.add(ev)
        elif isinstance(ev, Usage):
            state.add_usage(ev)
        elif isinstance(ev, Finish):
            result.finish = ev.reason
        elif isinstance(ev, Metadata):
            if first:
                yield ev
        elif not isinstance(ev, Started):
            yield ev


def tool_messages(result: Pass, calls: list[ToolCall], results: list[str], dropped: int = 0) -> list[dict[str, Any]]:
    """The assistant message asking for the calls, then one `tool` message per result (the last one says
    how many calls asked for were `dropped`)."""
    if dropped and results:
        results = [*results[:-1], results[-1] + f"\n[{dropped} more tool calls were not run: ask for fewer at once.]"]
    assistant = {"role": "assistant", "content": "".join(result.said) or None,
                 "tool_calls": [c.message_entry() for c in calls]}  # fmt: skip
    return [
        assistant,
        *({"role": "tool", "tool_call_id": c.id, "content": r} for c, r in zip(calls, results, strict=True)),
    ]


def upstream_request(provider: Provider, preq: ProviderRequest, registry: ToolRegistry) -> ProviderRequest:
    """`preq` itself (validated) for a pass-through, else a copy carrying the registry's definitions."""
    if preq.params.get("tools") or not len(registry):
        provider.validate(preq)
        return preq
    request = replace(preq, params={**preq.params, "tools": registry.definitions()})
    try:
        provider.validate(request)
    except RequestError as exc:
        if exc.param != "tools":
            raise
        log.info("provider %s does not take tools: answering without server tools", provider.name)
        provider.validate(preq)
        return preq
    return request


async def execute(
    registry: ToolRegistry, call: ToolCall, timeout_s: float, max_chars: int, *, slots: asyncio.Semaphore | None = None
) -> str:
    """One call's `tool` message content: the result (cut to `max_chars`) or what went wrong. The call
    waits for one of the process's `slots` first."""
    try:
        async with slots or contextlib.nullcontext():
            result = await registry.call(call.name, call.arguments, timeout_s)
    except ToolError as exc:
        return f"Error: {exc}"
    except Exception:
        log.exception("tool %s failed unexpectedly", call.name)
        return f"Error: the tool {call.name} failed unexpectedly."
    if len(result) > max_chars:
        return (
            result[:max_chars]
            + f"\n[Truncated: the tool returned {len(result)} characters; only the first {max_chars} are shown.]"
        )
    return result


def apology_for(messages: list[dict[str, Any]]) -> str:
    return APOLOGY_ZH if language_of(last_user_text(messages)) == "zh" else APOLOGY_EN


async def cancel(tasks: list[asyncio.Task[str]]) -> None:
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_WAIT_S)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()

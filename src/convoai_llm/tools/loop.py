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
- A provider that rejects tools (`RequestError` naming `tools`, e.g. the embedded local model) is
  answered without server tools.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from convoai_llm.core.pipeline import start_stream
from convoai_llm.errors import RequestError
from convoai_llm.events import Event, Finish, FinishReason, Metadata, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import Provider, ProviderRequest
from convoai_llm.tools.calls import CallBuffer, ToolCall
from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolError

log = logging.getLogger(__name__)

APOLOGY_EN = "Sorry, I couldn't finish that just now. Could you ask me again, maybe in a different way?"
APOLOGY_ZH = "抱歉，这个问题我暂时没能处理完，请换个方式再问我一次。"  # noqa: RUF001
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CANCEL_WAIT_S = 2.0


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
) -> AsyncIterator[Event]:
    request = upstream_request(provider, preq, registry)
    stream, model = await start_stream(provider, request)
    tasks: list[asyncio.Task[str]] = []
    try:
        yield Started(model)
        if request is preq:
            async for ev in stream:
                yield ev
            return
        messages = list(request.messages)
        usage: Usage | None = None
        finish: FinishReason | None = None
        last_char = ""
        filler_sent = False
        for pass_no in range(1, max(1, max_passes) + 1):
            if pass_no > 1:
                stream, _ = await start_stream(provider, replace(request, messages=messages))
            buffer = CallBuffer()
            said: list[str] = []
            finish = None
            async for ev in stream:
                if isinstance(ev, TextDelta):
                    if not ev.text:
                        continue
                    piece = joined(last_char, ev.text) if not said else ev.text
                    said.append(ev.text)
                    last_char = piece[-1]
                    yield TextDelta(piece)
                elif isinstance(ev, ToolCallDelta):
                    buffer.add(ev)
                elif isinstance(ev, Usage):
                    usage = (
                        ev
                        if usage is None
                        else Usage(
                            usage.prompt_tokens + ev.prompt_tokens, usage.completion_tokens + ev.completion_tokens
                        )
                    )
                elif isinstance(ev, Finish):
                    finish = ev.reason
                elif isinstance(ev, Metadata):
                    if pass_no == 1:
                        yield ev
                elif not isinstance(ev, Started):
                    yield ev
            if not buffer:
                break
            if pass_no >= max_passes:
                log.warning("tool loop: still asking for tools after %d passes; apologising", pass_no)
                text = joined(last_char, apology or apology_for(messages))
                yield TextDelta(text)
                finish = "stop"
                break
            calls = buffer.calls(f"call_{pass_no}")
            tasks = [
                asyncio.create_task(execute(registry, call, tool_timeout_s, max_result_chars), name=f"tool-{call.name}")
                for call in calls
            ]
            if filler and not filler_sent and not said:
                filler_sent = True
                piece = joined(last_char, filler)
                last_char = piece[-1:]
                yield TextDelta(piece)
            results = await asyncio.gather(*tasks)
            tasks = []
            messages.append(
                {
                    "role": "assistant",
                    "content": "".join(said) or None,
                    "tool_calls": [c.message_entry() for c in calls],
                }
            )
            messages.extend(
                {"role": "tool", "tool_call_id": call.id, "content": result}
                for call, result in zip(calls, results, strict=True)
            )
        if usage is not None:
            yield usage
        yield Finish(finish if finish is not None and finish != "tool_calls" else "stop")
    finally:
        await cancel(tasks)
        await close(stream)


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


async def execute(registry: ToolRegistry, call: ToolCall, timeout_s: float, max_chars: int) -> str:
    """One call's `tool` message content: the result (cut to `max_chars`) or what went wrong."""
    try:
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


def joined(last_char: str, text: str) -> str:
    """`text` with a leading space when it would otherwise run into the text already sent."""
    if not last_char or not text or last_char.isspace() or text[0].isspace():
        return text
    if ord(last_char) >= 0x2E80 or ord(text[0]) >= 0x2E80:  # CJK text is written without spaces
        return text
    return " " + text
    return text


def apology_for(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            text = content if isinstance(content, str) else str(content or "")
            return APOLOGY_ZH if CJK.search(text) else APOLOGY_EN
    return APOLOGY_EN


async def cancel(tasks: list[asyncio.Task[str]]) -> None:
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_WAIT_S)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


async def close(stream: AsyncIterator[Event]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()

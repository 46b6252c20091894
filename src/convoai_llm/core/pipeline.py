"""The pipeline: request → validation → (retrieval) → provider stream → (speech) → events.

`prepare()` does everything that can fail with a status code before the first byte: routing,
option validation, and opening the provider stream up to its `Started` event. The returned `Plan`
holds the rest of the stream as events; the API layer encodes them (SSE) or aggregates them (JSON).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from convoai_llm.errors import UpstreamError
from convoai_llm.events import Event, Finish, Metadata, Sources, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import Provider, ProviderRequest
from convoai_llm.providers.router import Router
from convoai_llm.schemas.request import ChatRequest

Transform = Callable[[AsyncIterator[Event]], AsyncIterator[Event]]
Rewrite = Callable[[ProviderRequest], Awaitable[tuple[ProviderRequest, list[Event]]]]
"""A stage run inside the stream before the provider opens (retrieval): the new request, and events
to send before the answer (e.g. the sources used)."""


@dataclass(slots=True)
class Plan:
    request: ChatRequest
    model: str
    events: AsyncIterator[Event]
    """The stream after `Started`: deltas, usage, finish."""
    prefix: list[Event] = field(default_factory=list)
    """Events sent before the role chunk (the engine's custom_metadata)."""

    async def aclose(self) -> None:
        await _aclose(self.events)


def provider_request(req: ChatRequest, model: str, caller_token: str | None, request_id: str) -> ProviderRequest:
    return ProviderRequest(
        model=model,
        messages=[m.to_upstream() for m in req.messages],
        params=req.forwarded_params(),
        caller_token=caller_token,
        request_id=request_id,
    )


async def open_stream(provider: Provider, preq: ProviderRequest) -> tuple[AsyncIterator[Event], str]:
    """Validate, start the provider and wait for `Started`; errors before it raise here (before the
    first byte). Returns the rest of the stream and the model that answers (a fallback may answer as
    another)."""
    provider.validate(preq)
    return await start_stream(provider, preq)


async def start_stream(provider: Provider, preq: ProviderRequest) -> tuple[AsyncIterator[Event], str]:
    """`open_stream` for a request validated already."""
    gen = provider.stream(preq)
    try:
        first = await anext(gen)
    except StopAsyncIteration:
        raise UpstreamError("The provider ended without answering.") from None
    except BaseException:
        await _aclose(gen)
        raise
    if not isinstance(first, Started):
        await _aclose(gen)
        raise UpstreamError("The provider answered out of order.")
    return gen, first.model


async def _aclose(it: AsyncIterator[Event]) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        await aclose()


class Pipeline:
    def __init__(self, router: Router) -> None:
        self.router = router

    async def prepare(
        self,
        req: ChatRequest,
        *,
        caller_token: str | None = None,
        request_id: str = "",
        rewrite: Rewrite | None = None,
        lead: list[Event] | None = None,
        transform: Transform | None = None,
    ) -> Plan:
        """Build the plan.

        Without `lead`/`rewrite`, the provider is opened now (its errors get a status code).
        With them (RAG), the `lead` events (the waiting message) go out first and the provider is
        opened inside the stream, after `rewrite` (retrieval) has run.
        """
        provider, model = self.router.resolve(req.model)
        preq = provider_request(req, model, caller_token, request_id)
        if rewrite is None and lead is None:
            events: AsyncIterator[Event]
            events, model = await open_stream(provider, preq)
        else:
            provider.validate(preq)
            events = self._deferred(provider, preq, lead or [], rewrite)
        if transform is not None:
            events = transform(events)
        return Plan(request=req, model=model, events=events)

    async def _deferred(
        self,
        provider: Provider,
        preq: ProviderRequest,
        lead: list[Event],
        rewrite: Rewrite | None,
    ) -> AsyncIterator[Event]:
        for ev in lead:
            yield ev
        if rewrite is not None:
            preq, extra = await rewrite(preq)
            for ev in extra:
                yield ev
        inner, _ = await start_stream(provider, preq)  # validated in prepare(); retrieval only adds a system turn
        try:
            async for ev in inner:
                yield ev
        finally:
            await _aclose(inner)


@dataclass(slots=True)
class Aggregate:
    """A whole stream folded into one non-streaming completion."""

    text: str = ""
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish: str = "stop"
    usage: Usage | None = None
    sources: tuple[dict[str, Any], ...] | None = None

    def add(self, ev: Event) -> None:
        if isinstance(ev, TextDelta):
            self.text += ev.text
        elif isinstance(ev, ToolCallDelta):
            call = self.tool_calls.setdefault(
                ev.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if ev.id:
                call["id"] = ev.id
            if ev.type:
                call["type"] = ev.type
            if ev.name:
                call["function"]["name"] += ev.name
            if ev.arguments:
                call["function"]["arguments"] += ev.arguments
        elif isinstance(ev, Finish):
            self.finish = ev.reason
        elif isinstance(ev, Usage):
            self.usage = ev
        elif isinstance(ev, Sources):
            self.sources = ev.items
        elif isinstance(ev, Metadata | Started):
            pass


async def collect(plan: Plan) -> Aggregate:
    agg = Aggregate()
    try:
        async for ev in plan.events:
            agg.add(ev)
    finally:
        await plan.aclose()
    return agg

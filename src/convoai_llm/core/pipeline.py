"""The pipeline: request → validation → (retrieval) → provider stream → (tools) → (speech) → events.

`Pipeline.prepare(kind, request, caller)` is the one entry point for the three request kinds. It does
everything that can fail with a status code before the first byte — routing, option validation, the
voice's engine check, opening the provider stream up to its `Started` — and returns a `Plan` whose
events are the rest of the reply. Stages, each in its own module:

- turns (`core/turns.py`): an assistant-last conversation repeated as is; the engine's metadata chunk;
- retrieval (`core/retrieval.py`, `rag`): the waiting line first, then the passages, inside the stream;
- tools (`core/tooling.py`): the loop around the provider call, when server tools are configured;
- voice (`core/voice.py`, `audio`): assistant-last speech, a recorded clip, or live speech.
The API layer only encodes the plan (SSE or JSON); `collect` folds it for a non-streaming answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from convoai_llm.core.deadline import Deadline
from convoai_llm.core.plan import Caller, Kind, Plan
from convoai_llm.core.retrieval import Retrieval, waiting_line
from convoai_llm.core.services import Services
from convoai_llm.errors import KnowledgeBaseUnavailable, RequestError
from convoai_llm.events import Event
from convoai_llm.providers.base import TOOLS_IGNORED_HEADER, ProviderRequest, aclose_quietly, until_started
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import Aggregate

NEVER_FORWARDED = frozenset({"metadata"})
"""Request fields kept from the upstream whatever the schema forwards: the engine's `metadata` carries
its own identifiers (channel, user), which the README promises never leave this server."""

MAX_NESTING = 128


def too_deep(value: object, limit: int) -> bool:
    """Whether lists and dicts in `value` nest more than `limit` levels (iterative: no recursion limit)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return False


def _may_nest(req: ChatRequest) -> bool:
    """Whether the walk is needed: the upstream request nests at most one level deeper than the body (the
    tuple `too_deep` gets), so a body with fewer brackets than the limit cannot fail it (~8 µs saved)."""
    bound = req.nesting_bound
    return bound is None or bound + 1 > MAX_NESTING


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def prepare(self, kind: Kind, req: ChatRequest, caller: Caller) -> Plan:
        """The plan for one request, bounded as a whole by `CONVOAI_REQUEST_DEADLINE_S`."""
        watch = Deadline.after(self.services.deadline_s).watch()  # the request's one timer, to its last event
        try:
            plan = await watch.run(self._prepare(kind, req, caller))
        except BaseException:
            watch.close()
            raise
        plan.deadline = watch
        return plan

    async def _prepare(self, kind: Kind, req: ChatRequest, caller: Caller) -> Plan:
        turns = self.services.turns
        plan = turns.repeat(req) if kind != "audio" else None
        if plan is None:
            if kind == "audio":
                plan = await self._audio(req, caller)
            elif kind == "rag":
                plan = self._rag(req, caller)
            else:
                plan = await self._chat(req, caller)
        plan.metadata = turns.metadata(req, kind)
        return plan

    def provider_request(self, req: ChatRequest, caller: Caller) -> ProviderRequest:
        _, model = self.services.router.resolve(req.model)
        messages = [m.to_upstream() for m in req.messages]
        params = {k: v for k, v in req.forwarded_params().items() if k not in NEVER_FORWARDED}
        if _may_nest(req) and too_deep((messages, params, req.model_extra), MAX_NESTING):  # JSON encoders: 255
            raise RequestError(f"The request is nested more than {MAX_NESTING} levels deep.")
        return ProviderRequest(
            model=model,
            messages=messages,
            params=params,
            caller_token=caller.token,
            request_id=caller.request_id,
        )

    def _stream(self, preq: ProviderRequest) -> AsyncIterator[Event]:
        """The provider's stream, inside the tool loop when server tools are configured."""
        s = self.services
        return s.tools.run(s.provider, preq) if s.tools is not None else s.provider.stream(preq)

    async def _open(self, preq: ProviderRequest) -> tuple[AsyncIterator[Event], str]:
        self.services.provider.validate(preq)
        return await until_started(self._stream(preq))

    def _headers(self, preq: ProviderRequest) -> dict[str, str]:
        """Response headers about how the request was answered (tools the model could not call)."""
        ignored = self.services.traits.tools_ignored
        if ignored is not None and ignored(preq):
            name, value = TOOLS_IGNORED_HEADER
            return {name: value}
        return {}

    async def _chat(self, req: ChatRequest, caller: Caller) -> Plan:
        preq = self.provider_request(req, caller)
        events, model = await self._open(preq)
        return Plan(req, model, events, headers=self._headers(preq))

    async def _audio(self, req: ChatRequest, caller: Caller) -> Plan:
        voice = self.services.voice
        fixed = voice.fixed(req, caller.request_id)
        if fixed is not None:
            return fixed
        to_speech = voice.live(req, caller.request_id)  # no engine: a 503 before the provider opens
        preq = self.provider_request(req, caller)
        events, model = await self._open(preq)
        return Plan(req, model, to_speech(events), headers=self._headers(preq))

    def _rag(self, req: ChatRequest, caller: Caller) -> Plan:
        retrieval = self.services.retrieval
        if retrieval is None:
            raise KnowledgeBaseUnavailable("The knowledge base is not available (install the `rag` extra: make setup).")
        preq = self.provider_request(req, caller)
        self.services.provider.validate(preq)
        wanted = (req.model_extra or {}).get("rag_sources")
        report = wanted if isinstance(wanted, bool) else retrieval.settings.report_sources
        lead = waiting_line(retrieval.settings.waiting_message, preq.messages) if req.stream else None
        return Plan(req, preq.model, self._grounded(retrieval, preq, lead, report), headers=self._headers(preq))

    async def _grounded(
        self, retrieval: Retrieval, preq: ProviderRequest, lead: Event | None, report_sources: bool
    ) -> AsyncIterator[Event]:
        """The waiting line, retrieval, then the answer: all inside the stream (errors travel in it)."""
        if lead is not None:
            yield lead
        preq, extra = await retrieval.rewrite(preq, report_sources)
        for ev in extra:
            yield ev
        inner, _ = await until_started(self._stream(preq))  # validated in _rag(); retrieval only adds a turn
        try:
            async for ev in inner:
                yield ev
        finally:
            await aclose_quietly(inner)


async def collect(plan: Plan) -> Aggregate:
    """The whole plan folded into one non-streaming answer (linear in its length)."""
    agg = Aggregate()
    events = plan.events if plan.deadline is None else plan.deadline.bounded(plan.events)
    try:
        async for ev in events:
            agg.add(ev)
    finally:
        await aclose_quietly(events)
        await plan.aclose()
    return agg

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

from convoai_llm.core.plan import Caller, Kind, Plan
from convoai_llm.core.retrieval import Retrieval, waiting_line
from convoai_llm.core.services import Services
from convoai_llm.errors import KnowledgeBaseUnavailable
from convoai_llm.events import Event
from convoai_llm.providers.base import ProviderRequest, aclose_quietly, until_started
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import Aggregate


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def prepare(self, kind: Kind, req: ChatRequest, caller: Caller) -> Plan:
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
        return ProviderRequest(
            model=model,
            messages=[m.to_upstream() for m in req.messages],
            params=req.forwarded_params(),
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

    async def _chat(self, req: ChatRequest, caller: Caller) -> Plan:
        events, model = await self._open(self.provider_request(req, caller))
        return Plan(req, model, events)

    async def _audio(self, req: ChatRequest, caller: Caller) -> Plan:
        voice = self.services.voice
        fixed = voice.fixed(req, caller.request_id)
        if fixed is not None:
            return fixed
        to_speech = voice.live(req, caller.request_id)  # no engine: a 503 before the provider opens
        events, model = await self._open(self.provider_request(req, caller))
        return Plan(req, model, to_speech(events))

    def _rag(self, req: ChatRequest, caller: Caller) -> Plan:
        retrieval = self.services.retrieval
        if retrieval is None:
            raise KnowledgeBaseUnavailable("The knowledge base is not available (install the `rag` extra: make setup).")
        preq = self.provider_request(req, caller)
        self.services.provider.validate(preq)
        wanted = (req.model_extra or {}).get("rag_sources")
        report = wanted if isinstance(wanted, bool) else retrieval.settings.report_sources
        lead = waiting_line(retrieval.settings.waiting_message, preq.messages) if req.stream else None
        return Plan(req, preq.model, self._grounded(retrieval, preq, lead, report))

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
    try:
        async for ev in plan.events:
            agg.add(ev)
    finally:
        await plan.aclose()
    return agg

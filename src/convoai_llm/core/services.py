"""The composition root: every long-lived part, built once from the settings, typed, with one lifecycle.

`open_services(settings)` builds the parts in order — limiter, provider, knowledge base, tools, voice —
starts each (`Component.start`: the local model loads, the knowledge base starts watching for
changes) and closes them in reverse on the way out, also when a later one fails to start. Each part
receives only its settings group. `Services.parts` names the components `/readyz` asks.

Where things go: a new upstream provider is a module in `providers/` plus one line in
`build_provider`; a new TTS engine is a module in `speech/` plus one line in `build_voice`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from convoai_llm.core.admission import Limits, build_limiter
from convoai_llm.core.knowledge import KnowledgeBase, open_knowledge_base
from convoai_llm.core.retrieval import Retrieval
from convoai_llm.core.tooling import ToolLoop
from convoai_llm.core.turns import Turns
from convoai_llm.core.voice import Voice
from convoai_llm.errors import TTSUnavailable
from convoai_llm.lifecycle import Component
from convoai_llm.providers.base import Provider, Traits
from convoai_llm.providers.router import Router
from convoai_llm.rag.searcher import Searcher
from convoai_llm.settings import AudioSettings, Settings
from convoai_llm.speech import ClipLibrary, VoiceSet, build_voices
from convoai_llm.tools import ToolRegistry

log = logging.getLogger("convoai_llm")


@dataclass(frozen=True, slots=True)
class Services:
    provider: Provider
    traits: Traits
    router: Router
    turns: Turns
    voice: Voice
    retrieval: Retrieval | None
    """None when the knowledge base cannot be opened (the `rag` extra is missing)."""
    tools: ToolLoop | None
    limiter: Limits[Any]
    parts: Sequence[tuple[str, Component]]
    """Named components, in start order (`/readyz` asks each)."""
    deadline_s: float = 0.0
    """The total time one request may take (`CONVOAI_REQUEST_DEADLINE_S`; 0: none)."""


def build_provider(settings: Settings) -> tuple[Provider, Traits]:
    if settings.effective_provider == "openai":
        from convoai_llm.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(settings.upstream, secrets=settings.secret_values), Traits()
    from convoai_llm.providers.local import LocalProvider

    local = LocalProvider(settings)
    return local, local.traits()


def build_voice(settings: AudioSettings) -> tuple[Voice, VoiceSet]:
    """The audio stage: the voices (one engine per script, started by the caller) and the clip library."""
    clips = ClipLibrary.load(settings.audio_dir) if settings.audio_dir is not None else None
    voices = build_voices(
        settings.english_voice, piper_model=settings.piper_model, espeak_in_process=settings.espeak_in_process
    )
    return Voice(settings, voices, clips), voices


async def _start(stack: AsyncExitStack, part: Component) -> None:
    stack.push_async_callback(part.aclose)
    await part.start()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    provider: Provider | None = None,
    traits: Traits | None = None,
    searcher: Searcher | None = None,
) -> AsyncIterator[Services]:
    """The started parts; `provider` and `searcher` replace the configured ones (tests, embedding). A
    provider passed in comes with its `traits` (e.g. `LocalProvider.traits()`); none: it needs no adapting."""
    async with AsyncExitStack() as stack:
        parts: list[tuple[str, Component]] = []
        limiter = build_limiter(settings.limits)
        if provider is not None:
            prov, traits = provider, traits if traits is not None else Traits()
        else:
            prov, traits = build_provider(settings)
        for name, part in (("limits", limiter), ("provider", prov)):
            await _start(stack, part)
            parts.append((name, part))
        retrieval: Retrieval | None = None
        if searcher is not None:
            retrieval = Retrieval(searcher, settings.rag, traits.prompt_budget)
        else:
            kb: KnowledgeBase | None = open_knowledge_base(settings.rag)
            if kb is not None:
                await _start(stack, kb)  # a damaged store starts degraded: never raises
                parts.append(("rag", kb))
                retrieval = Retrieval(kb, settings.rag, traits.prompt_budget)
        tools: ToolLoop | None = None
        if settings.tools_config is not None:
            registry = await ToolRegistry.from_config(
                settings.tools_config, searcher=retrieval.searcher if retrieval else None
            )
            tools = ToolLoop(registry, settings.tools)
            await _start(stack, tools)
        voice, voices = await asyncio.to_thread(build_voice, settings.audio)
        try:  # no voice is not fatal: chat and RAG serve, the audio route answers 503
            await _start(stack, voices)
        except TTSUnavailable as exc:
            log.warning("speech unavailable: %s", exc.message)
        yield Services(
            provider=prov, traits=traits, router=Router(prov, settings.default_model), turns=Turns(settings.turns),
            voice=voice, retrieval=retrieval, tools=tools, limiter=limiter, parts=tuple(parts),
            deadline_s=settings.request_deadline_s,
        )  # fmt: skip

"""A provider wrapped in the server-side tool loop (`convoai_llm.tools`).

With `CONVOAI_TOOLS_CONFIG` set, the app wraps its provider in this class: every route (chat, RAG,
audio) then runs tool calls inside the request and sends the caller only the final words. A caller
that sends its own `tools` gets them passed through untouched (the loop steps aside).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from convoai_llm.events import Event
from convoai_llm.providers.base import Provider, ProviderRequest
from convoai_llm.settings import Settings

if TYPE_CHECKING:
    from convoai_llm.tools import ToolRegistry


class ToolingProvider:
    def __init__(self, inner: Provider, registry: ToolRegistry, settings: Settings) -> None:
        self.inner = inner
        self.registry = registry
        self.settings = settings

    @property
    def name(self) -> str:
        return self.inner.name

    def models(self) -> list[str]:
        return self.inner.models()

    def validate(self, request: ProviderRequest) -> None:
        self.inner.validate(request)

    def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        from convoai_llm.tools import tool_loop

        s = self.settings
        return tool_loop(
            self.inner, request, self.registry, max_passes=s.tools_max_passes, tool_timeout_s=s.tools_timeout_s,
            max_result_chars=s.tools_max_result_chars, filler=s.tools_filler or None, apology=s.tools_apology,
        )  # fmt: skip

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def aclose(self) -> None:
        try:
            await self.registry.aclose()
        finally:
            await self.inner.aclose()

    def load(self) -> None:
        load = getattr(self.inner, "load", None)
        if load is not None:
            load()

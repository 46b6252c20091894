"""CheckedProvider: an upstream provider whose surprises become a 502, never a 500.

A hostile or broken upstream can send JSON of the wrong shape (`choices: 5`, `content: 7`, an
`index` that is not a number). Whatever the chunk parser then raises, and any event whose text is not
text, is mapped here, at the one boundary between the core and the provider, to `UpstreamError`
(502 before the first byte, an in-stream error after), logged with its type only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from convoai_llm.errors import ConvoError, UpstreamError
from convoai_llm.events import Event, TextDelta, ToolCallDelta
from convoai_llm.providers.base import Provider, ProviderRequest, aclose_quietly

log = logging.getLogger("convoai_llm.upstream")
_OPTIONAL_TEXT = (str, type(None))


def well_typed(ev: Event) -> bool:
    if isinstance(ev, TextDelta):
        return isinstance(ev.text, str)
    if isinstance(ev, ToolCallDelta):
        return isinstance(ev.index, int) and all(
            isinstance(v, _OPTIONAL_TEXT) for v in (ev.id, ev.type, ev.name, ev.arguments)
        )
    return True


class CheckedProvider:
    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def models(self) -> list[str]:
        return self.inner.models()

    def validate(self, request: ProviderRequest) -> None:
        self.inner.validate(request)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        events = self.inner.stream(request)
        try:
            async for ev in events:
                if not well_typed(ev):
                    raise UpstreamError("The upstream sent a field of the wrong type.")
                yield ev
        except ConvoError:
            raise
        except Exception as exc:
            log.warning("provider %s answered in an unexpected shape (%s): 502", self.name, type(exc).__name__)
            raise UpstreamError("The upstream sent a response of an unexpected shape.") from None
        finally:
            await aclose_quietly(events)

    async def start(self) -> None:
        await self.inner.start()

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def aclose(self) -> None:
        await self.inner.aclose()

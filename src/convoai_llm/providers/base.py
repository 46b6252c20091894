"""The provider interface.

A provider turns a `ProviderRequest` into an async stream of events. Its contract:

- `validate(request)` raises a `RequestError` for options it cannot honour, before anything runs;
- `stream(request)` is an async generator that does everything that can fail with a status code
  (connect, upstream status, queue admission) *before* its first yield, which is `Started`;
- after `Started` it yields deltas, at most one `Usage`, then one `Finish`; errors after
  `Started` are raised as `ConvoError`s and travel inside the SSE stream;
- closing the generator (client hang-up → `aclose()` / cancellation) releases its upstream at once.

A provider is a `Component` (`start`/`ready`/`aclose`): the local model loads in `start`.
`open_stream`/`start_stream` are the handshake every caller uses: they wait for `Started`, so what
fails before it raises where a status code can still be sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import AsyncGeneratorType
from typing import Any, Protocol

from convoai_llm.errors import UpstreamError
from convoai_llm.events import Event, Started
from convoai_llm.providers.local_budget import PromptBudget
from convoai_llm.text import message_text


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    """OpenAI request fields as the caller sent them (temperature, tools, stop, …)."""
    caller_token: str | None = None
    """The caller's bearer token, forwarded to the upstream only when the settings allow it."""
    request_id: str = ""

    def turns(self) -> list[Turn]:
        """The conversation as typed turns (role and text); `messages` stays the raw OpenAI form."""
        return [Turn(str(m.get("role", "")), message_text(m)) for m in self.messages]

    def last_user_text(self) -> str:
        return next((t.text for t in reversed(self.turns()) if t.role == "user"), "")


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    text: str
    """String content, text parts concatenated, or an assistant audio transcript."""


@dataclass(frozen=True, slots=True)
class Traits:
    """What the core adapts to for the provider that answers, decided once when it is built."""

    prompt_budget: PromptBudget | None = None
    """How many retrieved passages (and how much of each) the model can read in time; None: no limit."""
    tools_ignored: Callable[[ProviderRequest], bool] | None = None
    """True for a request whose `tools` this model cannot call (it answers in text; a header says so)."""


TOOLS_IGNORED_HEADER = ("x-convoai-tools", "ignored")


class Provider(Protocol):
    @property
    def name(self) -> str:
        """`openai`, `local`, `scripted`…: what kind of provider answers (routing reads it)."""
        ...

    def models(self) -> list[str]:
        """The model ids this provider answers for, for `/v1/models`."""
        ...

    def validate(self, request: ProviderRequest) -> None: ...

    def stream(self, request: ProviderRequest) -> AsyncIterator[Event]: ...

    async def start(self) -> None:
        """Load the model / warm the connection pool (once, at start-up)."""
        ...

    async def ready(self) -> bool:
        """Readiness: model loaded / upstream configured."""
        ...

    async def aclose(self) -> None: ...


async def open_stream(provider: Provider, preq: ProviderRequest) -> tuple[AsyncIterator[Event], str]:
    """Validate, start the provider and wait for `Started`; errors before it raise here (before the
    first byte). Returns the rest of the stream and the model that answers (a fallback may answer as
    another)."""
    provider.validate(preq)
    return await start_stream(provider, preq)


async def start_stream(provider: Provider, preq: ProviderRequest) -> tuple[AsyncIterator[Event], str]:
    """`open_stream` for a request validated already."""
    return await until_started(provider.stream(preq))


async def until_started(gen: AsyncIterator[Event]) -> tuple[AsyncIterator[Event], str]:
    """Wait for a stream's `Started`: the rest of the stream and the answering model; closed on failure."""
    try:
        first = await anext(gen)
    except StopAsyncIteration:
        raise UpstreamError("The provider ended without answering.") from None
    except BaseException:
        await aclose_quietly(gen)
        raise
    if not isinstance(first, Started):
        await aclose_quietly(gen)
        raise UpstreamError("The provider answered out of order.")
    return gen, first.model


async def aclose_quietly(it: AsyncIterator[Any]) -> None:
    """Close an async iterator if it can be closed (async generators can). The concrete type, not
    `isinstance(it, AsyncGenerator)`: the ABC check costs about a microsecond, three times a request."""
    if isinstance(it, AsyncGeneratorType):
        await it.aclose()

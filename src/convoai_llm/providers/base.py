"""The provider interface.

A provider turns a `ProviderRequest` into an async stream of events. Its contract:

- `validate(request)` raises a `RequestError` for options it cannot honour, before anything runs;
- `stream(request)` is an async generator that does everything that can fail with a status code
  (connect, upstream status, queue admission) *before* its first yield, which is `Started`;
- after `Started` it yields deltas, at most one `Usage`, then one `Finish`; errors after
  `Started` are raised as `ConvoError`s and travel inside the SSE stream;
- closing the generator (client hang-up → `aclose()` / cancellation) releases its upstream at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from convoai_llm.events import Event


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    """OpenAI request fields as the caller sent them (temperature, tools, stop, …)."""
    caller_token: str | None = None
    """The caller's bearer token, forwarded to the upstream only when the settings allow it."""
    request_id: str = ""


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

    async def ready(self) -> bool:
        """Readiness: model loaded / upstream configured."""
        ...

    async def aclose(self) -> None: ...

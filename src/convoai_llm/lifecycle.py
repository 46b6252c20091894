"""The one lifecycle every long-lived part has: built at start-up, started, asked, closed.

The app's lifespan starts each `Component` in order inside an `AsyncExitStack` (closing them in
reverse on the way out, also when a later one fails to start), and `/readyz` asks each one `ready()`.
Parts are matched structurally (a `Protocol`): a provider, a retriever, a TTS engine, a limiter.
"""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    async def start(self) -> None:
        """Load, connect, warm up: whatever must happen once before the first request."""
        ...

    async def ready(self) -> bool:
        """Whether the part can serve now (model loaded, database answers)."""
        ...

    async def aclose(self) -> None:
        """Release everything; called once, also after a failed start."""
        ...


class Idle:
    """A part with nothing to load or release: starting and closing do nothing, it is always ready."""

    async def start(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None

"""The SSE response for wire formats other than chat chunks (Responses events, legacy completions).

It is `SSEResponse` (hang-up → the provider is closed at once, keep-alive comments, shutdown) with
its pump encoding through a `WireEncoder`: `open()` before the first event, `encode(ev)` per event,
then `close()` at the normal end or `fail(envelope)` for an error after the first byte. Each returns
the bytes to send (possibly none).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from starlette.types import Send

from convoai_llm.api.metrics import Metrics
from convoai_llm.api.streaming import SSEResponse
from convoai_llm.core.pipeline import Plan
from convoai_llm.errors import ConvoError, error_envelope
from convoai_llm.events import AudioDelta, Event, TextDelta, ToolCallDelta
from convoai_llm.sse.encoder import ChunkEncoder

log = logging.getLogger("convoai_llm.stream")


class WireEncoder(Protocol):
    def open(self) -> bytes: ...

    def encode(self, ev: Event) -> bytes: ...

    def close(self) -> bytes: ...

    def fail(self, envelope: Mapping[str, Any]) -> bytes: ...


class WireSSEResponse(SSEResponse):
    def __init__(self, plan: Plan, wire: WireEncoder, *, route: str, metrics: Metrics, keepalive_s: float,
                 started: float, on_done: Callable[[dict[str, Any]], None] | None = None) -> None:  # fmt: skip
        # The chat encoder is unused here: only the pump below encodes, through `wire`.
        super().__init__(plan, ChunkEncoder(plan.model), route=route, metrics=metrics, keepalive_s=keepalive_s,
                         started=started, on_done=on_done)  # fmt: skip
        self.wire = wire

    async def _pump(self, send: Send) -> None:
        async def emit(body: bytes) -> None:
            if body:
                self._last_send = time.perf_counter()
                await send({"type": "http.response.body", "body": body, "more_body": True})

        try:
            await emit(self.wire.open())
            async for ev in self.plan.events:
                if isinstance(ev, TextDelta | ToolCallDelta | AudioDelta):
                    self._first_token()
                await emit(self.wire.encode(ev))
            tail = self.wire.close()
        except ConvoError as exc:
            self._outcome = f"error:{exc.type}"
            self.metrics.stream_errors.labels(self.route, exc.type).inc()
            tail = self.wire.fail(exc.envelope())
        except Exception:
            self._outcome = "error:server_error"
            self.metrics.stream_errors.labels(self.route, "server_error").inc()
            log.exception("stream failed")
            tail = self.wire.fail(error_envelope("The stream failed.", "server_error"))
        finally:
            await self.plan.aclose()
        await send({"type": "http.response.body", "body": tail, "more_body": False})

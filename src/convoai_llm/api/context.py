"""What the HTTP layer shares between requests, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from convoai_llm.api.auth import Authenticator
from convoai_llm.api.metrics import Metrics
from convoai_llm.core.pipeline import Pipeline
from convoai_llm.core.services import Services
from convoai_llm.settings import RagSettings, ServerSettings


@dataclass(frozen=True, slots=True)
class AppContext:
    server: ServerSettings
    rag: RagSettings
    services: Services
    pipeline: Pipeline
    auth: Authenticator
    metrics: Metrics

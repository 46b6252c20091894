"""What the app shares between requests, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convoai_llm.api.auth import Authenticator
from convoai_llm.api.metrics import Metrics
from convoai_llm.core.pipeline import Pipeline
from convoai_llm.providers.base import Provider
from convoai_llm.providers.router import Router
from convoai_llm.settings import Settings


@dataclass(slots=True)
class AppContext:
    settings: Settings
    provider: Provider
    router: Router
    pipeline: Pipeline
    auth: Authenticator
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)
    """Optional parts (retriever, TTS) keyed by name, present when configured."""

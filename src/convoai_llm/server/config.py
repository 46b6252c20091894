"""The uvicorn configuration `convoai-llm serve` runs with: our protocol, our limits, our logging."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

from uvicorn.config import LOGGING_CONFIG

from convoai_llm.server.limits import ConnectionGuard, ConnectionLimits
from convoai_llm.server.protocol import GuardedHttpToolsProtocol, ServerConfig
from convoai_llm.settings import Settings

APP = "convoai_llm.api.app:create_app"
Parser = Literal["httptools", "h11"]


@dataclass(frozen=True)
class ServeOptions:
    """What `convoai-llm serve` was asked for (plain values: it crosses into worker processes)."""

    host: str
    port: int
    workers: int = 1
    reload: bool = False
    http: Parser = "httptools"
    """httptools: the guarded fast parser (default). h11: uvicorn's pure-Python parser, kept for comparison
    in the bench; the header, idle and connection limits of this package apply to httptools only."""


def log_config(level: str, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """uvicorn's logging config plus our own `convoai_llm` logger (one line per request); every handler
    scrubs the configured secrets by value (`redaction.RedactingFilter`)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["convoai_llm"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    config["filters"] = {"redact": {"()": "convoai_llm.redaction.RedactingFilter", "secrets": list(secrets)}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    return config


def build_config(settings: Settings, options: ServeOptions, limits: ConnectionLimits) -> ServerConfig:
    protocol: type[GuardedHttpToolsProtocol] | str = GuardedHttpToolsProtocol if options.http == "httptools" else "h11"
    return ServerConfig(
        ConnectionGuard(limits),
        app=APP,
        factory=True,
        host=options.host,
        port=options.port,
        http=protocol,
        reload=options.reload,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level, settings.secret_values),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        timeout_keep_alive=max(1, math.ceil(limits.idle_timeout_s)),
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )

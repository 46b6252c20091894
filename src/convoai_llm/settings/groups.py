"""The settings groups: what each component receives (never the whole `Settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr


class FallbackUpstream(BaseModel):
    base_url: str
    api_key: SecretStr | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str
    port: int
    api_keys: tuple[SecretStr, ...]
    max_body_bytes: int
    body_timeout_s: float
    keepalive_interval_s: float
    log_level: str
    shutdown_grace_s: int


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    base_url: str
    api_key: SecretStr | None
    forward_caller_token: bool
    """Send the caller's bearer token upstream (no upstream key and no server keys: the Node sample's way)."""
    connect_timeout_s: float
    first_byte_timeout_s: float
    chunk_timeout_s: float
    max_connections: int
    default_model: str
    retries: int
    retry_base_s: float
    retry_max_wait_s: float
    fallbacks: tuple[FallbackUpstream, ...]


@dataclass(frozen=True, slots=True)
class LocalModelSettings:
    model_path: Path | None
    model_name: str | None
    n_ctx: int
    n_threads: int | None
    temperature: float
    max_tokens: int
    max_queue: int
    model: str
    """A catalog model (providers/local_catalog.py), used when `model_path` is unset."""


@dataclass(frozen=True, slots=True)
class RagSettings:
    kb_path: Path
    kb_url: str | None
    waiting_message: str | None
    top_k: int
    min_score: float | None
    timeout_s: float
    refresh_interval_s: float
    report_sources: bool
    embed_model: str
    per_document: int
    refresh_max_stale_s: float = 30.0

    @property
    def location(self) -> Path | str:
        return self.kb_url or self.kb_path


@dataclass(frozen=True, slots=True)
class AudioSettings:
    audio_dir: Path | None
    mode: Literal["auto", "live"]
    realtime: bool
    speed: float
    transcript_first: bool
    words: bool
    speak_assistant_last: bool
    english_voice: Literal["espeak", "piper"]
    piper_model: Path | None
    flush_after_ms: float
    espeak_in_process: bool


@dataclass(frozen=True, slots=True)
class ToolsSettings:
    config: Path | None
    max_passes: int
    timeout_s: float
    max_result_chars: int
    filler: str
    apology: str | None
    max_calls_per_pass: int = 8
    max_calls: int = 16
    max_concurrency: int = 16


@dataclass(frozen=True, slots=True)
class LimitsSettings:
    max_inflight: int
    rate_limit_rps: float
    rate_limit_burst: int
    max_streams_per_key: int
    redis_url: str | None
    redis_fail_open: bool
    redis_timeout_s: float
    redis_stream_lease_s: float


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """Turn rules: an assistant-last conversation, the engine's custom_metadata per request kind."""

    text_assistant_last: Literal["answer", "repeat"]
    custom_metadata: dict[str, dict[str, Any] | None]
    """Keyed by request kind: `chat`, `rag`, `audio`."""

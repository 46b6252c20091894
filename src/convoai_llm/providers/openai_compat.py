"""Any OpenAI-compatible upstream (OpenAI, DeepSeek, Qwen, Ollama, vLLM, llama.cpp server…).

One pooled aiohttp session per upstream. aiohttp errors are mapped to our typed errors here and
nowhere else. The upstream is always asked to stream (with usage); non-streaming callers get the
stream aggregated by the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from convoai_llm.errors import (
    ConvoError,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from convoai_llm.events import Event, Finish, Started, TextDelta, Usage
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.providers.chunks import FINISH, parse_chunk, tool_call
from convoai_llm.providers.retry import RetryPolicy
from convoai_llm.providers.stall import StallTimer
from convoai_llm.providers.upstream_http import base_headers, keep_warm, new_session
from convoai_llm.redaction import Redactor
from convoai_llm.settings import UpstreamSettings
from convoai_llm.sse.decoder import DONE, EventTooLarge, SSEDecoder

log = logging.getLogger("convoai_llm.upstream")
_MAX_ERROR_BODY = 64 * 1024


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Upstream:
    """One OpenAI-compatible endpoint. A key is only ever sent to the upstream it was configured for."""

    url: str
    key: str | None
    forward_caller_token: bool = False
    model: str | None = None
    """Model name to ask this upstream for instead of the request's (fallbacks)."""
    label: str = "upstream"
    """How errors name it (never its host or port): `upstream`, `fallback upstream 1`, …"""


class OpenAICompatProvider:
    name: ClassVar[str] = "openai"

    def __init__(self, settings: UpstreamSettings, secrets: Iterable[str] = ()) -> None:
        """`secrets`: other configured secrets to keep out of error texts (our own API keys)."""
        self.settings = settings
        self.base_url = settings.base_url
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self.upstreams = [
            Upstream(f"{self.base_url}/chat/completions", key, settings.forward_caller_token),
            *(
                Upstream(
                    f"{f.base_url.rstrip('/')}/chat/completions",
                    f.api_key.get_secret_value() if f.api_key else None,
                    model=f.model,
                    label=f"fallback upstream {n}",
                )
                for n, f in enumerate(settings.fallbacks, start=1)
            ),
        ]
        self.redactor = Redactor([*(u.key for u in self.upstreams), *secrets])
        self._headers_by_url = {u.url: base_headers(u.key) for u in self.upstreams}
        self._urls = {u.url: URL(u.url) for u in self.upstreams}  # parsed once, not per request
        self.retry = RetryPolicy(settings.retries, settings.retry_base_s, settings.retry_max_wait_s)
        self._session: aiohttp.ClientSession | None = None
        self._warm: asyncio.Task[None] | None = None
        self._last_request = 0.0

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # built inside the running loop (start(), in the app's lifespan)
            self._session = new_session(self.settings)
        return self._session

    def models(self) -> list[str]:
        return [self.settings.default_model]

    def validate(self, request: ProviderRequest) -> None:
        return None

    async def start(self) -> None:
        """Open the pool and connect to the upstream in the background (again after idle), so the first
        caller does not pay the TCP (and TLS) handshake; start-up never waits for, or fails on, it."""
        warm = keep_warm(self.session, self.base_url, self.settings.connect_timeout_s, lambda: self._last_request)
        self._warm = asyncio.create_task(warm)

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        if self._warm is not None:
            self._warm.cancel()
            await asyncio.gather(self._warm, return_exceptions=True)
            self._warm = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, upstream: Upstream, request: ProviderRequest) -> CIMultiDict[str]:
        headers = self._headers_by_url[upstream.url]
        if upstream.key is None and upstream.forward_caller_token and request.caller_token:
            headers = headers.copy()
            headers["Authorization"] = f"Bearer {request.caller_token}"
        return headers

    async def _open(self, upstream: Upstream, request: ProviderRequest, stall: StallTimer) -> aiohttp.ClientResponse:
        """One attempt: the response with a success status, or a typed error; the wait for its head (and an
        error body) is timed by the stream's one stall timer."""
        model = upstream.model or request.model
        body = {**request.params, "model": model, "messages": request.messages, "stream": True,
                "stream_options": {"include_usage": True}}  # fmt: skip
        limit = self.settings.first_byte_timeout_s
        redactor = self.redactor.with_secrets(request.caller_token)
        self._last_request = asyncio.get_running_loop().time()
        try:
            resp = await stall.wait(
                self.session.post(
                    self._urls[upstream.url], data=orjson.dumps(body), headers=self._headers(upstream, request),
                    allow_redirects=False,
                ),
                limit,
            )  # fmt: skip
            if resp.status >= 300:
                try:
                    raise await stall.wait(self._status_error(resp, redactor), limit)
                finally:
                    resp.close()
            return resp
        except UpstreamTimeout:
            raise UpstreamTimeout(f"The upstream did not answer within {limit:g} s.") from None
        except aiohttp.ClientSSLError as exc:
            raise UpstreamError(f"TLS error talking to the upstream: {type(exc).__name__}.") from None
        except aiohttp.ClientConnectorError as exc:
            log.warning("cannot connect to the %s: %s", upstream.label, type(exc).__name__)
            raise UpstreamUnavailable(f"Cannot connect to the {upstream.label}.") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"Upstream request failed: {type(exc).__name__}.") from None

    async def _open_any(self, request: ProviderRequest, stall: StallTimer) -> tuple[aiohttp.ClientResponse, Upstream]:
        """Retries, then fallbacks, all before the first byte reaches the caller (see `retry.py`)."""
        last: ConvoError | None = None
        for upstream in self.upstreams:
            attempt = 0
            while True:
                try:
                    return await self._open(upstream, request, stall), upstream
                except ConvoError as exc:
                    last = exc
                    wait = self.retry.delay(attempt, exc)
                    if wait is None:
                        break
                    log.info("upstream attempt %d failed (%s); retrying in %.2f s", attempt + 1, exc.code, wait)
                    await asyncio.sleep(wait)
                    attempt += 1
            if not self.retry.falls_back(last):
                raise last
        assert last is not None
        raise last

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        """`Started`, then the upstream's events. One generator from the socket to the core: every layer
        between costs each chunk an `anext` and a `yield` (chunks are checked in `parse_chunk`)."""
        resp: aiohttp.ClientResponse | None = None
        stall = StallTimer()  # one timer for the stream: the first byte, then every read that waits
        try:
            resp, upstream = await self._open_any(request, stall)
            model = upstream.model or request.model
            ctype = self._check_head(resp)
            if "text/event-stream" not in ctype:
                for ev in await self._non_sse(resp, model, ctype):
                    yield ev
                return
            yield Started(model)
            redactor = self.redactor.with_secrets(request.caller_token)
            decoder = SSEDecoder()
            timeout = self.settings.first_byte_timeout_s
            finished = False
            while True:
                raw = await self._read(resp, stall, timeout)
                timeout = self.settings.chunk_timeout_s
                for data in self._decode(decoder, raw):
                    if data == DONE:
                        return
                    for ev in parse_chunk(data, redactor):
                        finished = finished or isinstance(ev, Finish)
                        yield ev
                if not raw:
                    if finished:
                        return
                    raise UpstreamError("The upstream ended the stream before it finished.")
        finally:
            stall.close()
            if resp is not None:
                resp.close()  # releases the connection at once, also on cancellation

    @staticmethod
    def _check_head(resp: aiohttp.ClientResponse) -> str:
        """The response's content type, once its encoding is known to be plain."""
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise UpstreamError("The upstream sent a compressed body although asked for identity; refused.")
        return str(resp.headers.get("Content-Type", ""))

    @staticmethod
    def _decode(decoder: SSEDecoder, raw: bytes) -> list[str]:
        try:
            return decoder.feed(raw) if raw else decoder.flush()
        except EventTooLarge as exc:
            raise UpstreamError(f"The upstream sent an oversized event ({exc}).") from None

    async def _read(self, resp: aiohttp.ClientResponse, stall: StallTimer, limit_s: float) -> bytes:
        """What the upstream has sent since the last read (b"" at the end). Everything buffered is taken
        without waiting; only a read that must wait is timed (`providers/stall.py`: one timer per stream)."""
        content = resp.content
        try:
            raw = content.read_nowait()
            if raw or content.at_eof():
                return raw
            stall.arm(limit_s)  # `stall.wait` inline: no coroutine per read
            try:
                return await content.readany()
            except asyncio.CancelledError:
                stall.absorb(limit_s)
                raise
            finally:
                stall.disarm()
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"The upstream connection broke mid-stream ({type(exc).__name__}).") from None

    async def _non_sse(self, resp: aiohttp.ClientResponse, model: str, ctype: str) -> list[Event]:
        """An upstream that ignored `stream: true` and sent one JSON completion."""
        body = await resp.content.read(_MAX_ERROR_BODY * 16)
        if "json" not in ctype:
            raise UpstreamError(f"The upstream sent a non-SSE body ({ctype or 'no content type'}).")
        try:
            data = orjson.loads(body)
            choice = data["choices"][0]
            message = choice["message"]
            events: list[Event] = [Started(model)]
            if message.get("content"):
                events.append(TextDelta(str(message["content"])))
            for i, call in enumerate(message.get("tool_calls") or []):
                events.append(tool_call(i, call, call.get("function") or {}))
            if isinstance(data.get("usage"), dict):
                u = data["usage"]
                events.append(Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))))
            events.append(Finish(FINISH.get(str(choice.get("finish_reason")), "stop")))
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise UpstreamError("The upstream sent a malformed completion.") from None
        return events

    async def _status_error(self, resp: aiohttp.ClientResponse, redactor: Redactor) -> ConvoError:
        if resp.status < 400:  # a redirect: never followed, and its Location never shown
            return UpstreamError(f"The upstream answered with a redirect (HTTP {resp.status}); not followed.")
        try:
            raw = await resp.content.read(_MAX_ERROR_BODY)
        except aiohttp.ClientError:
            raw = b""
        message, etype, param, code = f"The upstream answered HTTP {resp.status}.", None, None, None
        try:
            err = orjson.loads(raw).get("error")
            if isinstance(err, dict):
                message = str(err.get("message") or message)
                etype, param, code = err.get("type"), err.get("param"), err.get("code")
            elif isinstance(err, str):
                message = err
        except (orjson.JSONDecodeError, AttributeError):
            pass
        return UpstreamStatus(
            resp.status,
            redactor.scrub(message),
            type=str(etype) if etype else None,
            param=str(param) if param else None,
            code=str(code) if code else None,
            retry_after=_retry_after(resp.headers),
        )

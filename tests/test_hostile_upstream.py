"""A hostile upstream over real sockets (issue 17.4, 17.5): secrets echoed back in errors, an endless
SSE line, a gzip bomb, a redirect to another host. Each case is bounded in bytes and seconds."""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from aiohttp import web

from convoai_llm.providers.openai_compat import OpenAICompatProvider
from convoai_llm.redaction import RedactingFilter, Redactor
from tests.conftest import ServeFn, make_settings
from tests.servers import AppThread, UvicornThread, chunk

MSG = [{"role": "user", "content": "Hi"}]
UPSTREAM_KEY = "0f3a9c77d2e84b1f9a6c5e3d7b2a1f40"  # hex: no `sk-` shape for a pattern to catch
FALLBACK_KEY = "Zm9yLXRoZS1mYWxsYmFjay1vbmx5"
OUR_KEY = "c0ffee00deadbeef4242"
LINE_CAP = 1 << 20


class Hostile:
    """Behaviour by `model`: echo-401, echo-chunk, endless-line, gzip-bomb, redirect, set-cookie."""

    def __init__(self, redirect_to: str = "") -> None:
        self.redirect_to = redirect_to
        self.requests = 0
        self.sent_bytes = 0
        self.peers: list[tuple[str, object]] = []
        self.cookies: list[str | None] = []
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        app.router.add_get("/v1/models", self.models)
        self.server = AppThread(app)

    async def models(self, request: web.Request) -> web.Response:
        self.peers.append(("GET", request.transport.get_extra_info("peername") if request.transport else None))
        return web.json_response({"error": {"message": "no key"}}, status=401)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.peers.append(("POST", request.transport.get_extra_info("peername") if request.transport else None))
        self.cookies.append(request.headers.get("Cookie"))
        model = str((await request.json()).get("model"))
        auth = request.headers.get("Authorization", "")
        echoed = f"bad key: {auth}; also {FALLBACK_KEY} and {OUR_KEY}"
        if model == "echo-401":
            return web.json_response({"error": {"message": echoed, "type": "auth"}}, status=401)
        if model == "redirect":
            raise web.HTTPTemporaryRedirect(self.redirect_to + "/v1/chat/completions")
        if model == "gzip-bomb":  # ~50 KB on the wire, 50 MB inflated
            bomb = gzip.compress(b"data: " + b"0" * (50 << 20), compresslevel=9)
            headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
            return web.Response(body=bomb, headers=headers)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        if model == "set-cookie":  # as a CDN in front of an upstream does (e.g. a bot-management cookie)
            resp.set_cookie("session", "first-callers-session", path="/")
        await resp.prepare(request)
        await resp.write(chunk(model, {"role": "assistant", "content": "partial"}))
        if model == "echo-chunk":
            await resp.write(b"data: " + orjson.dumps({"error": {"message": echoed}}) + b"\n\n")
        elif model == "endless-line":  # 16 MB without a newline, unless the reader hangs up first
            await resp.write(b"data: ")
            block = b"a" * (64 << 10)
            for _ in range(256):
                await resp.write(block)
                self.sent_bytes += len(block)
                await asyncio.sleep(0)
        else:
            await resp.write(chunk(model, {}, "stop") + b"data: [DONE]\n\n")
        return resp


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    target = Hostile()
    with target.server:
        yield target


def _post(server: UvicornThread, model: str, stream: bool, token: str = OUR_KEY) -> httpx.Response:
    body = {"model": model, "messages": MSG, "stream": stream}
    return httpx.post(server.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"},
                      timeout=20)  # fmt: skip


def test_every_configured_secret_is_scrubbed_from_errors(serve: ServeFn, hostile: Hostile) -> None:
    fallback = [{"base_url": hostile.server.url + "/v1", "api_key": FALLBACK_KEY}]
    settings = make_settings(openai_base_url=hostile.server.url + "/v1", openai_api_key=UPSTREAM_KEY,
                             api_keys=OUR_KEY, fallback_upstreams=fallback)  # fmt: skip
    provider = OpenAICompatProvider(settings.upstream, secrets=[OUR_KEY])
    server = serve(provider=provider, openai_base_url=hostile.server.url + "/v1", api_keys=OUR_KEY)
    for model, stream in (("echo-401", False), ("echo-401", True), ("echo-chunk", True), ("echo-chunk", False)):
        resp = _post(server, model, stream)
        assert "bad key: Bearer ***" in resp.text, (model, stream, resp.text)
        for secret in (UPSTREAM_KEY, FALLBACK_KEY, OUR_KEY, UPSTREAM_KEY[:12]):
            assert secret not in resp.text, (model, stream)


def test_a_forwarded_caller_token_is_scrubbed_too(serve: ServeFn, hostile: Hostile) -> None:
    server = serve(openai_base_url=hostile.server.url + "/v1")  # no keys: the caller's token is forwarded
    caller = "77aa88bb99cc00dd11ee"
    for model, stream in (("echo-401", False), ("echo-chunk", True)):
        resp = _post(server, model, stream, token=caller)
        assert "bad key: Bearer ***" in resp.text and caller not in resp.text


def test_redacting_filter_scrubs_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    handler = caplog.handler
    handler.addFilter(RedactingFilter(Redactor([UPSTREAM_KEY, OUR_KEY])))
    try:
        logger.warning("upstream said %s", f"bad key {UPSTREAM_KEY}")
        try:
            raise ValueError(f"token {OUR_KEY}")
        except ValueError:
            logger.exception("failed")
    finally:
        handler.filters.clear()
    assert "bad key ***" in caplog.text and "ValueError: token ***" in caplog.text
    assert UPSTREAM_KEY not in caplog.text and OUR_KEY not in caplog.text


def test_an_endless_sse_line_ends_the_stream_quickly(serve: ServeFn, hostile: Hostile) -> None:
    server = serve(openai_base_url=hostile.server.url + "/v1", openai_api_key=UPSTREAM_KEY)
    t0 = time.monotonic()
    resp = _post(server, "endless-line", True)
    elapsed = time.monotonic() - t0
    lines = [x for x in resp.text.splitlines() if x]
    assert resp.status_code == 200 and '"content":"partial"' in resp.text
    assert "oversized event" in lines[-2] and lines[-1] == "data: [DONE]"
    assert elapsed < 5, f"took {elapsed:.1f} s"
    time.sleep(0.2)
    assert hostile.sent_bytes < 8 * LINE_CAP, "the connection was not closed at the cap"


def test_a_gzip_bomb_is_refused_without_inflating(serve: ServeFn, hostile: Hostile) -> None:
    server = serve(openai_base_url=hostile.server.url + "/v1", openai_api_key=UPSTREAM_KEY)
    t0 = time.monotonic()
    for stream in (True, False):
        resp = _post(server, "gzip-bomb", stream)
        assert resp.status_code == 502 and "compressed" in resp.json()["error"]["message"]
    assert time.monotonic() - t0 < 5


def test_redirects_are_never_followed(serve: ServeFn, hostile: Hostile) -> None:
    elsewhere = Hostile()
    with elsewhere.server:
        hostile.redirect_to = elsewhere.server.url
        server = serve(openai_base_url=hostile.server.url + "/v1", openai_api_key=UPSTREAM_KEY)
        for stream in (True, False):
            resp = _post(server, "redirect", stream)
            assert resp.status_code == 502 and "redirect" in resp.json()["error"]["message"]
            assert elsewhere.server.url not in resp.text and str(elsewhere.server.port) not in resp.text
        assert elsewhere.requests == 0 and hostile.requests == 2


def test_the_pool_is_warm_before_the_first_request(serve: ServeFn, hostile: Hostile) -> None:
    server = serve(openai_base_url=hostile.server.url + "/v1", openai_api_key=UPSTREAM_KEY)
    deadline = time.monotonic() + 5
    while not hostile.peers and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hostile.peers and hostile.peers[0][0] == "GET", "no warm-up connection at start-up"
    resp = _post(server, "plain", True)
    assert resp.status_code == 200 and resp.text.endswith("data: [DONE]\n\n")
    assert hostile.peers[-1] == ("POST", hostile.peers[0][1]), "the first request did not reuse the warm connection"


def test_an_upstreams_cookie_never_reaches_it_again(serve: ServeFn, hostile: Hostile) -> None:
    """One caller's answer may set a cookie; the next caller's request must not carry it to the upstream."""
    base = hostile.server.url.replace("127.0.0.1", "localhost")  # a host name: a cookie jar would keep its cookies
    server = serve(openai_base_url=base + "/v1", openai_api_key=UPSTREAM_KEY)
    first = _post(server, "set-cookie", True)
    assert first.status_code == 200 and "set-cookie" not in first.headers
    second = _post(server, "plain", True, token="another-caller")
    assert second.status_code == 200
    assert hostile.cookies[-2:] == [None, None], hostile.cookies

"""The CORS policy (api/cors.py) around a small ASGI app, over a real socket: off by default, listed
origins only, preflight answered before the app, credentials never with `*`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from convoai_llm.api.cors import CORSConfigError, cors_middleware
from tests.servers import UvicornThread

PAGE = "https://app.example.com"
PREFLIGHT = {"Origin": PAGE, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"}  # fmt: skip


class Recorder:
    """An app that answers 401 (as a route with auth on would) and records the methods it saw."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.methods.append(scope["method"])
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"error": {"message": "no key"}}'})


@pytest.fixture
def served() -> Iterator[tuple[Recorder, list[UvicornThread]]]:
    servers: list[UvicornThread] = []
    yield Recorder(), servers
    for s in servers:
        s.__exit__(None, None, None)


def start(served: tuple[Recorder, list[UvicornThread]], origins: list[str], credentials: bool = False) -> str:
    app, servers = served
    server = UvicornThread(cors_middleware(app, origins, credentials)).__enter__()
    servers.append(server)
    return server.url + "/v1/chat/completions"


def test_off_by_default_adds_nothing(served: tuple[Recorder, list[UvicornThread]]) -> None:
    app, _ = served
    assert cors_middleware(app, [], False) is app
    assert cors_middleware(app, [" ", ""], False) is app
    url = start(served, [])
    resp = httpx.post(url, headers={"Origin": PAGE})
    assert "access-control-allow-origin" not in resp.headers


def test_listed_origin_preflight_is_answered_before_the_app(served: tuple[Recorder, list[UvicornThread]]) -> None:
    url = start(served, [PAGE + "/", "http://localhost:3000"])
    pre = httpx.options(url, headers=PREFLIGHT)
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == PAGE
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "x-stainless-os" in pre.headers["access-control-allow-headers"].lower()
    assert pre.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in pre.headers
    assert served[0].methods == []  # never reached auth or routing
    resp = httpx.post(url, headers={"Origin": PAGE})
    assert resp.status_code == 401  # the app's own answer, readable by the page
    assert resp.headers["access-control-allow-origin"] == PAGE
    assert resp.headers["access-control-expose-headers"] == "Retry-After"
    assert served[0].methods == ["POST"]


def test_other_origins_get_no_grant(served: tuple[Recorder, list[UvicornThread]]) -> None:
    url = start(served, [PAGE])
    pre = httpx.options(url, headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert pre.status_code == 400
    assert "access-control-allow-origin" not in pre.headers
    resp = httpx.post(url, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in resp.headers


def test_star_allows_any_origin_without_credentials(served: tuple[Recorder, list[UvicornThread]]) -> None:
    url = start(served, ["*", PAGE])
    pre = httpx.options(url, headers={**PREFLIGHT, "Origin": "https://any.example"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in pre.headers
    resp = httpx.post(url, headers={"Origin": "https://any.example", "Cookie": "s=1"})
    assert "access-control-allow-credentials" not in resp.headers


def test_credentials_only_with_listed_origins(served: tuple[Recorder, list[UvicornThread]]) -> None:
    with pytest.raises(CORSConfigError, match="never allowed with `\\*`"):
        cors_middleware(served[0], ["*"], True)
    url = start(served, [PAGE], credentials=True)
    pre = httpx.options(url, headers=PREFLIGHT)
    assert pre.headers["access-control-allow-origin"] == PAGE
    assert pre.headers["access-control-allow-credentials"] == "true"

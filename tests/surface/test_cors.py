"""CORS on the real app over a real socket: off by default, listed origins only, the preflight answered
before auth and limits, errors and streams readable by the page, credentials never with `*`."""

from __future__ import annotations

import httpx
import pytest

from convoai_llm.api.app import create_app
from convoai_llm.api.cors import CORSConfigError, cors_options
from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn, make_settings

PAGE = "https://app.example.com"
PREFLIGHT = {"Origin": PAGE, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"}  # fmt: skip
BODY = {"messages": [{"role": "user", "content": "Hi"}], "stream": True}


def test_off_by_default(serve: ServeFn) -> None:
    assert cors_options([], False) is None
    assert cors_options([" ", ""], True) is None
    server = serve(provider=ScriptedProvider())
    pre = httpx.options(server.url + "/v1/chat/completions", headers=PREFLIGHT)
    assert pre.status_code == 405
    resp = httpx.post(server.url + "/v1/chat/completions", headers={"Origin": PAGE}, json=BODY)
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers


def test_listed_origin_preflight_before_auth_and_grants_on_errors_and_streams(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), api_keys="k1", cors_origins=f"{PAGE}/, http://localhost:3000")
    url = server.url + "/v1/chat/completions"
    pre = httpx.options(url, headers=PREFLIGHT)  # no key: a browser never sends one on a preflight
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == PAGE
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "x-stainless-os" in pre.headers["access-control-allow-headers"].lower()
    assert pre.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in pre.headers
    denied = httpx.post(url, headers={"Origin": PAGE}, json=BODY)
    assert denied.status_code == 401  # auth still applies, and the page can read why
    assert denied.headers["access-control-allow-origin"] == PAGE
    assert denied.headers["access-control-expose-headers"] == "Retry-After"
    with httpx.stream("POST", url, headers={"Origin": PAGE, "Authorization": "Bearer k1"}, json=BODY) as r:
        assert r.headers["access-control-allow-origin"] == PAGE
        assert r.read().endswith(b"data: [DONE]\n\n")
    pre = httpx.options(server.url + "/v1/responses", headers={**PREFLIGHT, "Origin": "http://localhost:3000"})
    assert pre.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_other_origins_get_no_grant(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), cors_origins=PAGE)
    url = server.url + "/v1/chat/completions"
    pre = httpx.options(url, headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert pre.status_code == 400
    assert "access-control-allow-origin" not in pre.headers
    resp = httpx.post(url, headers={"Origin": "https://evil.example"}, json=BODY)
    assert "access-control-allow-origin" not in resp.headers


def test_star_allows_any_origin_never_with_credentials(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), cors_origins=f"*,{PAGE}")
    pre = httpx.options(server.url + "/v1/responses", headers={**PREFLIGHT, "Origin": "https://any.example"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in pre.headers
    resp = httpx.get(server.url + "/v1/models", headers={"Origin": "https://any.example", "Cookie": "s=1"})
    assert "access-control-allow-credentials" not in resp.headers
    with pytest.raises(CORSConfigError, match="never allowed with `\\*`"):
        create_app(make_settings(cors_origins="*", cors_allow_credentials=True))


def test_credentials_only_with_listed_origins(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), cors_origins=PAGE, cors_allow_credentials=True)
    pre = httpx.options(server.url + "/v1/chat/completions", headers=PREFLIGHT)
    assert pre.headers["access-control-allow-origin"] == PAGE
    assert pre.headers["access-control-allow-credentials"] == "true"

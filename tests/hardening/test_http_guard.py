"""Items 11, 13 and the Low HTTP items of issue 17, over real sockets: duplicate `Authorization`,
cross-site posts and DNS rebinding, `HEAD /healthz`, the API docs behind auth, no redirect built
from `Host`, a client leaving mid-body, deep nesting."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import MockUpstream, UvicornThread

MSG = [{"role": "user", "content": "Hi"}]
JSON = {"Content-Type": "application/json"}


def raw(server: UvicornThread, request: bytes, timeout: float = 5) -> bytes:
    """One raw HTTP/1.1 exchange; returns what the server sent before closing or `timeout`."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data and b"}" in data:
                    break
        except TimeoutError:
            pass
    return data


def test_duplicate_authorization_is_400(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), api_keys="key-a,key-b")
    headers = [("Authorization", "Bearer key-a"), ("Authorization", "Bearer key-b"), *JSON.items()]
    resp = httpx.post(server.url + "/v1/chat/completions", headers=headers, json={"messages": MSG})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "duplicate_header"
    one = {"Authorization": "Bearer key-a"}
    ok = httpx.post(server.url + "/v1/chat/completions", headers=one, json={"messages": MSG})
    assert ok.status_code == 200


def test_cross_site_post_and_foreign_host_refused_with_auth_off(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider())
    body = b'{"messages": [{"role": "user", "content": "Hi"}]}'
    plain = httpx.post(server.url + "/v1/chat/completions", content=body, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["error"]["code"] == "unsupported_media_type"
    assert httpx.post(server.url + "/v1/chat/completions", content=body).status_code == 415  # no type: a Blob post
    rebound = httpx.post(server.url + "/v1/chat/completions", json={"messages": MSG}, headers={"Host": "evil.example"})
    assert rebound.status_code == 400 and rebound.json()["error"]["code"] == "host_not_allowed"
    for host in ("localhost:8000", "127.0.0.1", "[::1]:1"):
        resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": MSG}, headers={"Host": host})
        assert resp.status_code == 200, host
    allowed = serve(provider=ScriptedProvider(), allowed_hosts="agent.example.com")
    named = {"Host": "agent.example.com"}
    resp = httpx.post(allowed.url + "/v1/chat/completions", json={"messages": MSG}, headers=named)
    assert resp.status_code == 200
    keyed = serve(provider=ScriptedProvider(), api_keys="k1")  # with auth on, a page cannot send the key
    resp = httpx.post(keyed.url + "/v1/chat/completions", json={"messages": MSG},
                      headers={"Host": "anything.example", "Authorization": "Bearer k1"})  # fmt: skip
    assert resp.status_code == 200


def test_head_healthz_docs_behind_auth_and_no_host_redirect(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), api_keys="k1", allowed_hosts="*")
    assert httpx.head(server.url + "/healthz").status_code == 200
    for path in ("/docs", "/openapi.json"):
        assert httpx.get(server.url + path).status_code == 401
        assert httpx.get(server.url + path, headers={"Authorization": "Bearer k1"}).status_code == 200
    open_server = serve(provider=ScriptedProvider(), allowed_hosts="*")
    reply = raw(open_server, b"POST /v1/chat/completions/ HTTP/1.1\r\nHost: evil.example\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")  # fmt: skip
    assert reply.startswith(b"HTTP/1.1 404") and b"evil.example" not in reply


def test_client_leaving_mid_body_is_no_error_and_no_500(serve: ServeFn, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(provider=ScriptedProvider())
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 500\r\n\r\n{\"messages\": [")  # fmt: skip
        time.sleep(0.2)
    time.sleep(0.5)
    metrics = httpx.get(server.url + "/metrics").text
    assert 'status="500"' not in metrics and 'route="/chat/completions",status="499"} 1.0' in metrics
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_deep_nesting_is_400(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k")
    for depth in (255, 600, 1000):
        for field in ("metadata", "response_format", "logit_bias", "prediction"):
            body = b'{"model": "mock-stream", "messages": [{"role": "user", "content": "x"}], "%s": ' % field.encode()
            body += b"[" * depth + b"]" * depth + b"}"
            resp = httpx.post(server.url + "/chat/completions", content=body, headers=JSON)
            assert resp.status_code == 400, (depth, field, resp.text)

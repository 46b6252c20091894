"""Webhook tools: POST the arguments as JSON to a URL; the response body (text) is the result.

One `WebhookClient` is shared by all webhooks of a registry (pooled connections). Each webhook has
its own timeout and headers (e.g. `Authorization`, with `${ENV}` values expanded at load time). A status
of 400 or more is a failed call; its body (shortened) tells the model what went wrong.

A POST is never retried (it may have booked the table already): the transport has `retries=0` and
redirects are not followed. After `RESET_AFTER` transport failures in a row (timeouts, refused or
broken connections) the client and its pool are replaced, so a burst of failures cannot leave every
later call stuck on dead connections.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from convoai_llm.tools.tool import Tool, ToolFailed, ToolTimeout

ERROR_BODY_CHARS = 300
RESET_AFTER = 3
log = logging.getLogger(__name__)


class WebhookClient:
    def __init__(self, max_connections: int = 100) -> None:
        self.max_connections = max_connections
        self.resets = 0
        self._failures = 0
        self._client = self._build()

    def _build(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=20)
        transport = httpx.AsyncHTTPTransport(retries=0, limits=limits)
        return httpx.AsyncClient(transport=transport, follow_redirects=False)

    async def post(self, url: str, *, json: Any, headers: dict[str, str], timeout_s: float) -> httpx.Response:
        """One POST, never retried; httpx's own `timeout_s` (no cancellation inside the pool)."""
        client = self._client
        try:
            resp = await client.post(url, json=json, headers=headers, timeout=timeout_s)
        except httpx.TransportError:
            await self._failed(client)
            raise
        if client is self._client:
            self._failures = 0
        return resp

    async def _failed(self, client: httpx.AsyncClient) -> None:
        if client is not self._client:
            return  # a call on a client replaced already
        self._failures += 1
        if self._failures >= RESET_AFTER:
            self._client, self._failures = self._build(), 0
            self.resets += 1
            log.warning("webhooks: %d transport failures in a row; the connection pool was replaced", RESET_AFTER)
            await client.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()


def webhook_tool(
    client: WebhookClient,
    *,
    name: str,
    description: str,
    url: str,
    parameters: dict[str, Any],
    headers: dict[str, str],
    timeout_s: float,
) -> Tool:
    async def run(arguments: dict[str, Any]) -> str:
        try:
            resp = await client.post(url, json=arguments, headers=headers, timeout_s=timeout_s)
        except httpx.TimeoutException:
            raise ToolTimeout(f"The {name} service did not answer within {timeout_s:g} s.") from None
        except httpx.HTTPError as exc:
            raise ToolFailed(f"The {name} service could not be reached ({type(exc).__name__}).") from None
        if resp.status_code >= 400:
            body = resp.text.strip()[:ERROR_BODY_CHARS]
            raise ToolFailed(f"The {name} service answered HTTP {resp.status_code}: {body}")
        return resp.text

    host = httpx.URL(url).host
    return Tool(name=name, description=description, parameters=parameters, source=f"webhook:{host}", run=run)

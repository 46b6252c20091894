"""Webhook tools: POST the arguments as JSON to a URL; the response body (text) is the result.

One `httpx.AsyncClient` is shared by all webhooks of a registry (pooled connections). Each webhook has
its own timeout and headers (e.g. `Authorization`, with `${ENV}` values expanded at load time). A status
of 400 or more is a failed call; its body (shortened) tells the model what went wrong.
"""

from __future__ import annotations

from typing import Any

import httpx

from convoai_llm.tools.tool import Tool, ToolFailed, ToolTimeout

ERROR_BODY_CHARS = 300


def webhook_tool(
    client: httpx.AsyncClient,
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
            resp = await client.post(url, json=arguments, headers=headers, timeout=timeout_s)
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

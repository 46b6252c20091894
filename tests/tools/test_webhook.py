"""Webhook tools against a real aiohttp server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolFailed, ToolTimeout
from tests.servers import AppThread
from tests.tools.conftest import BOOKING_TOKEN, webhook_block


async def registry_for(tmp_path: Path, config: str) -> ToolRegistry:
    path = tmp_path / "tools.toml"
    path.write_text(config)
    return await ToolRegistry.from_config(path)


async def test_posts_arguments_as_json_with_headers(tmp_path: Path, webhook: AppThread) -> None:
    registry = await registry_for(tmp_path, webhook_block(
        f"{webhook.url}/book_table", headers=f'{{ Authorization = "Bearer {BOOKING_TOKEN}" }}',
        description='"Book a table"',
    ) + webhook_block(f"{webhook.url}/echo", name="echo", headers='{ X-Tenant = "acme" }'))  # fmt: skip
    try:
        booked = await registry.call("book_table", '{"name": "Ada", "party_size": 4, "time": "19:30"}', 5)
        assert booked.startswith("Booked a table for 4 at 19:30 under the name Ada, reference B")
        assert await registry.call("echo", '{"a": [1, 2]}', 5) == 'acme|application/json|{"a":[1,2]}'
        assert registry.definitions()[0]["function"]["description"] == "Book a table"
    finally:
        await registry.aclose()


async def test_failures(tmp_path: Path, webhook: AppThread) -> None:
    registry = await registry_for(
        tmp_path,
        webhook_block(f"{webhook.url}/book_table")  # no token
        + webhook_block(f"{webhook.url}/fail", name="fail")
        + webhook_block(f"{webhook.url}/slow", name="slow")
        + webhook_block("http://127.0.0.1:9/closed", name="closed"),
    )
    try:
        with pytest.raises(ToolFailed, match="answered HTTP 401: Missing or wrong booking token"):
            await registry.call("book_table", '{"name": "Ada", "time": "19:30"}', 5)
        with pytest.raises(ToolFailed, match="answered HTTP 500: stack trace"):
            await registry.call("fail", "{}", 5)
        with pytest.raises(ToolTimeout, match="did not answer within 2 s"):
            await registry.call("slow", "{}", 5)  # the webhook's own timeout_s (2) is shorter
        with pytest.raises(ToolTimeout, match=r"did not answer within 0\.3 seconds"):
            await registry.call("slow", "{}", 0.3)  # the loop's timeout is shorter
        with pytest.raises(ToolFailed, match="could not be reached"):
            await registry.call("closed", "{}", 5)
    finally:
        await registry.aclose()

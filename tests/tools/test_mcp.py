"""MCP servers for real: the example server (official `mcp` SDK) over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from convoai_llm.core.tooling import tool_loop
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.providers.scripted import ScriptedProvider
from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolConfigError, ToolFailed
from tests.servers import AppThread
from tests.tools.conftest import BOOKING_TOKEN, EXAMPLES, mcp_block, webhook_block
from tests.tools.helpers import calls_pass, collect, spoken, text_pass, tool_messages


async def from_text(tmp_path: Path, config: str) -> ToolRegistry:
    path = tmp_path / "tools.toml"
    path.write_text(config)
    return await ToolRegistry.from_config(path)


async def wait_for_tool(registry: ToolRegistry, name: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while name not in [t.name for t in registry.tools()]:
        assert time.monotonic() < deadline, f"{name} never appeared"
        await asyncio.sleep(0.05)


async def test_stdio_server_tools_calls_and_list_changed(tmp_path: Path) -> None:
    registry = await from_text(tmp_path, mcp_block(prefix='"wx_"'))
    try:
        tools = {t.name: t for t in registry.tools()}
        assert set(tools) == {"wx_get_weather", "wx_enable_forecast"}
        assert tools["wx_get_weather"].source == "mcp:weather"
        schema = tools["wx_get_weather"].parameters
        assert schema["required"] == ["city"]
        assert schema["properties"]["city"]["description"] == "City name, e.g. Paris"

        assert await registry.call("wx_get_weather", '{"city": "Paris"}', 5) == "Paris: 18 degrees Celsius, light rain."
        with pytest.raises(ToolFailed, match="city"):
            await registry.call("wx_get_weather", "{}", 5)  # the server rejects the arguments

        # the server adds a tool and announces it: the registry picks it up without a restart
        assert "now available" in await registry.call("wx_enable_forecast", "{}", 5)
        await wait_for_tool(registry, "wx_get_forecast", timeout=3)
        forecast = await registry.call("wx_get_forecast", '{"city": "Tokyo", "days": 2}', 5)
        assert forecast == "Tokyo, next 2 days: around 22 degrees Celsius, clear skies."
        assert "wx_get_forecast" in [d["function"]["name"] for d in registry.definitions()]
    finally:
        await registry.aclose()
    assert not registry.servers[0].connected


async def test_loop_with_an_mcp_server_and_a_webhook(tmp_path: Path, webhook: AppThread) -> None:
    """The issue's "done" scenario: one MCP server + one webhook, the caller hears an answer, never a call."""
    config = mcp_block() + webhook_block(
        f"{webhook.url}/book_table", headers=f'{{ Authorization = "Bearer {BOOKING_TOKEN}" }}'
    )
    registry = await from_text(tmp_path, config)
    try:
        provider = ScriptedProvider()
        provider.enqueue(calls_pass(
            ("get_weather", '{"city": "Paris"}'),
            ("book_table", '{"name": "Ada", "party_size": 2, "time": "20:00"}'),
        ))  # fmt: skip
        provider.enqueue(text_pass("It's 18 degrees with light rain, and your table for two at eight is booked."))
        preq = ProviderRequest("m", [{"role": "user", "content": "Weather in Paris? And book a table for two at 8."}])
        events = await collect(tool_loop(provider, preq, registry, filler="One moment."))
        assert spoken(events) == (
            "One moment. It's 18 degrees with light rain, and your table for two at eight is booked."
        )
        results = [m["content"] for m in tool_messages(provider.history[1].messages)]
        assert results[0] == "Paris: 18 degrees Celsius, light rain."
        assert results[1].startswith("Booked a table for 2 at 20:00 under the name Ada")
        names = [t["function"]["name"] for t in provider.history[0].params["tools"]]
        assert names == ["book_table", "get_weather", "enable_forecast"]
    finally:
        await registry.aclose()


async def test_a_required_server_that_does_not_start_fails_start_up(tmp_path: Path) -> None:
    config = '[[mcp_servers]]\nname = "broken"\ncommand = "python"\nargs = ["-c", "import sys; sys.exit(3)"]\n'
    t0 = time.monotonic()
    with pytest.raises(ToolConfigError, match="MCP server 'broken' did not start"):
        await from_text(tmp_path, config + "startup_timeout_s = 10\n")
    assert time.monotonic() - t0 < 8


async def test_an_optional_server_that_does_not_start_is_left_out(tmp_path: Path) -> None:
    config = (
        '[builtins]\nenabled = ["calculator"]\n'
        '[[mcp_servers]]\nname = "broken"\ncommand = "python"\nargs = ["-c", "pass"]\nrequired = false\n'
    )
    registry = await from_text(tmp_path, config)
    try:
        assert [t.name for t in registry.tools()] == ["calculator"]
        assert registry.servers[0].error is not None
    finally:
        await registry.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_mcp() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "mcp_weather.py"), "--http", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "MCP HTTP server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_streamable_http_server(tmp_path: Path, http_mcp: str) -> None:
    registry = await from_text(tmp_path, f'[[mcp_servers]]\nname = "remote"\nurl = "{http_mcp}"\n')
    try:
        assert {t.name: t.source for t in registry.tools()} == {
            "get_weather": "mcp:remote", "enable_forecast": "mcp:remote",
        }  # fmt: skip
        assert await registry.call("get_weather", '{"city": "Beijing"}', 5) == "Beijing: 27 degrees Celsius, sunny."
    finally:
        await registry.aclose()

"""One MCP server, over stdio or streamable HTTP, through the official `mcp` SDK.

The connection lives in its own asyncio task (the SDK's anyio task groups are entered and left there),
so `aclose()` may be called from any task. Tools are listed at connect time and listed again when the
server says they changed (a `subscriptions/listen` stream on 2026 protocol servers, the
`notifications/tools/list_changed` message on earlier ones) and every `refresh_s` seconds; a failed
listing or a dead server ends the session and the task reconnects with backoff. While disconnected,
its tools keep their definitions and a call to them fails with a message the model can relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
import pydantic_core
from mcp import Client, MCPError, StdioServerParameters
from mcp.client._transport import Transport
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost

from convoai_llm.tools.config import McpSpec
from convoai_llm.tools.tool import Runner, Tool, ToolConfigError, ToolFailed, empty_schema

log = logging.getLogger(__name__)

MAX_PAGES = 50
RECONNECT_MAX_S = 30.0


def result_text(result: mcp_types.CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        elif isinstance(block, mcp_types.EmbeddedResource):
            res = block.resource
            parts.append(res.text if isinstance(res, mcp_types.TextResourceContents) else f"[binary {res.uri}]")
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{block.type} content omitted]")
    if not parts and result.structured_content is not None:
        return pydantic_core.to_json(result.structured_content).decode()
    return "\n".join(parts)


class McpConnection:
    def __init__(self, spec: McpSpec, base_dir: Path) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.label = f"mcp:{spec.name}"
        self.version = 0
        """Bumped each time the tool list is replaced."""
        self.error: str | None = None
        """Why the last connection attempt failed or ended (None while connected)."""
        self._tools: dict[str, Tool] = {}
        self._client: Client | None = None
        self._first_attempt = asyncio.Event()
        self._stop = asyncio.Event()
        self._refresh_now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def start(self) -> None:
        """Connect and list the tools; a required server that cannot be reached raises `ToolConfigError`."""
        self._task = asyncio.create_task(self._run(), name=f"mcp-{self.spec.name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), self.spec.startup_timeout_s)
        if not self.connected:
            reason = self.error or f"no answer within {self.spec.startup_timeout_s:g} s"
            if self.spec.required:
                await self.aclose()
                raise ToolConfigError(f"MCP server {self.spec.name!r} did not start: {reason}")
            log.warning("MCP server %r not connected yet (%s); retrying in the background", self.spec.name, reason)

    async def refresh(self) -> None:
        """List the tools again now (also done on change notifications and every `refresh_s`)."""
        client = self._client
        if client is not None:
            await self._list(client)

    async def aclose(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                await self._session()
                delay = 1.0
            except Exception as exc:
                self.error = _describe(exc)
                log.warning("MCP server %r: %s", self.spec.name, self.error)
            finally:
                self._client = None
                self._first_attempt.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _session(self) -> None:
        async with AsyncExitStack() as stack:
            client = Client(
                await self._transport(stack), message_handler=self._on_message, cache=None, raise_exceptions=False
            )
            await stack.enter_async_context(client)
            await self._list(client)
            self._client = client
            self.error = None
            self._first_attempt.set()
            async with anyio.create_task_group() as group:
                group.start_soon(self._listen, client)
                group.start_soon(self._poll, client)
                await self._stop.wait()
                group.cancel_scope.cancel()

    async def _transport(self, stack: AsyncExitStack) -> Transport | StdioServerParameters:
        spec = self.spec
        if spec.url is not None:
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=spec.headers, timeout=httpx2.Timeout(30.0, read=300.0))
            )
            return streamable_http_client(spec.url, http_client=http)
        assert spec.command is not None
        command = sys.executable if spec.command in ("python", "python3") else spec.command
        cwd = self.base_dir / spec.cwd if spec.cwd else self.base_dir
        return StdioServerParameters(command=command, args=spec.args, env=spec.env or None, cwd=cwd)

    async def _list(self, client: Client) -> None:
        listed: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        tools: dict[str, Tool] = {}
        for remote in listed:
            name = self.spec.prefix + remote.name
            try:
                schema: dict[str, Any] = dict(remote.input_schema or empty_schema())
                description = remote.description or remote.title or remote.name
                tools[name] = Tool(name, description, schema, self.label, self._runner(remote.name))
            except ToolConfigError as exc:
                log.warning("MCP server %r: skipping a tool: %s", self.spec.name, exc)
        if tools.keys() != self._tools.keys():
            log.info("MCP server %r tools: %s", self.spec.name, ", ".join(tools) or "none")
        self._tools = tools
        self.version += 1

    def _runner(self, remote_name: str) -> Runner:
        async def run(arguments: dict[str, Any]) -> str:
            client = self._client
            if client is None:
                raise ToolFailed(f"The {self.spec.name} tool server is not connected right now.")
            try:
                result = await client.call_tool(remote_name, arguments)
            except MCPError as exc:
                raise ToolFailed(f"The {self.spec.name} tool server refused the call: {exc.error.message}") from None
            text = result_text(result)
            if result.is_error:
                raise ToolFailed(text or f"The tool {remote_name} reported an error.")
            return text

        return run

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._refresh_now.set()

    async def _listen(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._refresh_now.set()
        except (ListenNotSupportedError, SubscriptionLost, MCPError, TimeoutError) as exc:
            log.debug("MCP server %r: no change stream (%s); polling only", self.spec.name, exc)

    async def _poll(self, client: Client) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh_now.wait(), self.spec.refresh_s)
            self._refresh_now.clear()
            await self._list(client)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

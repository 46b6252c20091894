"""ToolRegistry: every configured tool by name, their OpenAI definitions, and one way to call them.

    registry = await ToolRegistry.from_config("tools.toml", searcher=retriever)
    registry.definitions()                     # → the `tools` list for the upstream request
    text = await registry.call("get_weather", '{"city": "Paris"}', timeout_s=10)
    await registry.aclose()                    # stops MCP servers, closes the webhook client (tools/webhook.py)

Names must be unique: a clash between static tools (functions, webhooks, built-ins) is a config
error; an MCP tool whose name is already taken is left out (with a warning; use `prefix`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from convoai_llm.rag.searcher import Searcher
from convoai_llm.tools.builtin import calculator_tool, current_time_tool, knowledge_search_tool
from convoai_llm.tools.config import ToolsConfig
from convoai_llm.tools.function import function_tool
from convoai_llm.tools.mcp_connection import McpConnection
from convoai_llm.tools.tool import BadArguments, Tool, ToolConfigError, ToolError, ToolFailed, ToolTimeout, UnknownTool
from convoai_llm.tools.webhook import WebhookClient, webhook_tool

log = logging.getLogger(__name__)


class ToolRegistry:
    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        servers: Iterable[McpConnection] = (),
        http: WebhookClient | None = None,
    ) -> None:
        self.static: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self.static:
                raise ToolConfigError(
                    f"Two tools are named {tool.name!r} ({self.static[tool.name].source} and {tool.source})."
                )
            self.static[tool.name] = tool
        self.servers = list(servers)
        self._http = http
        self._index: dict[str, Tool] = {}
        self._index_key: tuple[int, ...] | None = None

    @classmethod
    async def from_config(cls, path: Path | str, *, searcher: Searcher | None = None) -> ToolRegistry:
        """Load the config, import functions, and start the MCP servers (tools listed at start-up)."""
        config = ToolsConfig.load(path)
        http = WebhookClient() if config.webhooks else None
        tools: list[Tool] = []
        servers: list[McpConnection] = []
        try:
            built = config.builtins
            if "current_time" in built.enabled:
                tools.append(current_time_tool(built.timezone))
            if "calculator" in built.enabled:
                tools.append(calculator_tool())
            if "knowledge_search" in built.enabled:
                if searcher is None:
                    log.warning("knowledge_search is enabled in %s but there is no knowledge base: left out", path)
                else:
                    tools.append(knowledge_search_tool(searcher, built.knowledge_k, built.knowledge_description))
            for fn in config.functions:
                tools.append(function_tool(fn.target, config.base_dir, name=fn.name, description=fn.description))
            for hook in config.webhooks:
                assert http is not None
                tools.append(webhook_tool(http, name=hook.name, description=hook.description or hook.name,
                                          url=hook.url, parameters=hook.parameters, headers=hook.headers,
                                          timeout_s=hook.timeout_s))  # fmt: skip
            registry = cls(tools, http=http)
            servers = [McpConnection(spec, config.base_dir) for spec in config.mcp_servers]
            registry.servers = servers
            await asyncio.gather(*(server.start() for server in servers))
        except BaseException:
            await asyncio.gather(*(server.aclose() for server in servers), return_exceptions=True)
            if http is not None:
                await http.aclose()
            raise
        return registry

    def tools(self) -> list[Tool]:
        """Every callable tool: static ones first, then each MCP server's, in config order."""
        return list(self._current().values())

    def definitions(self) -> list[dict[str, Any]]:
        """The OpenAI `tools` list."""
        return [tool.definition() for tool in self._current().values()]

    def __len__(self) -> int:
        return len(self._current())

    async def call(self, name: str, arguments_json: str, timeout_s: float) -> str:
        """Run one tool; a failure raises a `ToolError` whose message is meant for the model."""
        tool = self._current().get(name)
        if tool is None:
            known = ", ".join(self._current()) or "none"
            raise UnknownTool(f"There is no tool named {name!r}. Available tools: {known}.")
        arguments = parse_arguments(arguments_json)
        try:
            async with asyncio.timeout(timeout_s):
                return await tool.run(arguments)
        except TimeoutError:
            raise ToolTimeout(f"The tool {name} did not answer within {timeout_s:g} seconds.") from None
        except ToolError:
            raise
        except Exception as exc:
            log.warning("tool %s (%s) raised %s: %s", name, tool.source, type(exc).__name__, exc)
            detail = str(exc).strip()[:300]
            raise ToolFailed(f"The tool {name} failed: {type(exc).__name__}{': ' + detail if detail else ''}") from exc

    async def aclose(self) -> None:
        await asyncio.gather(*(server.aclose() for server in self.servers), return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    def _current(self) -> dict[str, Tool]:
        key = tuple(server.version for server in self.servers)
        if key != self._index_key:
            index = dict(self.static)
            for server in self.servers:
                for tool in server.tools():
                    if tool.name in index:
                        log.warning("%s: tool %r is already defined by %s; left out (set a prefix)",
                                    server.label, tool.name, index[tool.name].source)  # fmt: skip
                        continue
                    index[tool.name] = tool
            self._index, self._index_key = index, key
        return self._index


def parse_arguments(arguments_json: str) -> dict[str, Any]:
    """The model's argument string as an object; empty means no arguments."""
    if not arguments_json.strip():
        return {}
    try:
        value = orjson.loads(arguments_json)
    except orjson.JSONDecodeError:
        raise BadArguments(f"The arguments are not valid JSON: {arguments_json[:200]!r}. Send a JSON object.") from None
    if not isinstance(value, dict):
        raise BadArguments("The arguments must be a JSON object.")
    return value

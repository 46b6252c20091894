"""Server-side tools: sources declared in a config file (functions, webhooks, MCP servers, built-ins).

    registry = await ToolRegistry.from_config(path, searcher=retriever)
    result = await registry.call(name, arguments_json, timeout_s)

The loop that runs them inside a request lives in the core (`convoai_llm.core.tooling`).
"""

from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import Tool, ToolConfigError, ToolError

__all__ = ["Tool", "ToolConfigError", "ToolError", "ToolRegistry"]

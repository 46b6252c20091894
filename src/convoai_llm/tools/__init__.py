"""Server-side tools: sources declared in a config file, and the loop that runs them inside a request.

    registry = await ToolRegistry.from_config(path, searcher=retriever)
    events = tool_loop(provider, preq, registry, max_passes=5, tool_timeout_s=10.0, filler="One moment.")

`tool_loop` has the contract of a provider stream (see `convoai_llm.providers.base`).
"""

from convoai_llm.tools.loop import tool_loop
from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import Tool, ToolConfigError, ToolError

__all__ = ["Tool", "ToolConfigError", "ToolError", "ToolRegistry", "tool_loop"]

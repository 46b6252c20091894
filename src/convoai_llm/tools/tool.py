"""Tool: one callable the model may use, whatever its source, and the errors a call can end in.

Every source (Python function, webhook, MCP server, built-in) is reduced to a `Tool`: a name, a
description, a JSON schema for its arguments, a label naming where it comes from, and an async
`run(arguments) -> str`. A call that fails raises a `ToolError` whose message is written for the
model: the loop turns it into a `tool` message and the conversation carries on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Runner = Callable[[dict[str, Any]], Awaitable[str]]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What the OpenAI API accepts as a function name."""


class ToolError(Exception):
    """A tool call that did not produce a result; the message is shown to the model."""


class UnknownTool(ToolError):
    pass


class BadArguments(ToolError):
    pass


class ToolFailed(ToolError):
    pass


class ToolTimeout(ToolError):
    pass


class ToolConfigError(Exception):
    """The tools config file is wrong (raised at start-up, never during a call)."""


def empty_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""
    source: str
    """Where the tool comes from, e.g. `builtin`, `function:pkg.mod:fn`, `webhook:https://…`, `mcp:weather`."""
    run: Runner

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ToolConfigError(f"Tool name {self.name!r} ({self.source}) must be 1-64 letters, digits, '_' or '-'.")

    def definition(self) -> dict[str, Any]:
        """The OpenAI `tools[]` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

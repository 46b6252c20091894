"""The tools config file (TOML, or YAML when the name ends in .yaml/.yml), validated with pydantic.

    [builtins]
    enabled = ["current_time", "calculator"]    # all off by default
    timezone = "Europe/Paris"

    [[functions]]
    target = "tools.py:lookup_order"            # or "package.module:function"

    [[webhooks]]
    name = "book_table"
    url = "https://example.com/book"
    headers = { Authorization = "Bearer ${BOOKING_TOKEN}" }

    [[mcp_servers]]
    name = "weather"
    command = "python"                          # `python` means the interpreter running this server
    args = ["mcp_weather.py"]

`${NAME}` in URLs, headers and env values is replaced by that environment variable (a missing one is
an error; `${NAME:-default}` falls back to `default`). Relative paths (function files, an MCP server's
working directory) are resolved against the config file's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from convoai_llm.tools.tool import ToolConfigError, empty_schema

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

BuiltinName = Literal["current_time", "calculator", "knowledge_search"]


def expand_env(value: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name not in os.environ:
            if default is not None:
                return default
            raise ToolConfigError(f"The tools config refers to ${{{name}}}, which is not set in the environment.")
        return os.environ[name]

    return ENV_REF.sub(sub, value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuiltinsSpec(Strict):
    enabled: list[BuiltinName] = Field(default_factory=list)
    timezone: str = "UTC"
    knowledge_k: int = Field(default=3, ge=1, le=20)
    knowledge_description: str = (
        "Search the company knowledge base (documents, FAQs, policies). Use it before answering questions "
        "about products, prices, opening hours or procedures."
    )


class FunctionSpec(Strict):
    target: str
    name: str | None = None
    description: str | None = None


class WebhookSpec(Strict):
    name: str
    description: str = ""
    url: str
    parameters: dict[str, Any] = Field(default_factory=empty_schema)
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://", "${")):
            raise ValueError("must be an http:// or https:// URL")
        return v


class McpSpec(Strict):
    name: str
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    """Streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp (instead of `command`)."""
    headers: dict[str, str] = Field(default_factory=dict)
    prefix: str = ""
    """Prepended to every tool name of this server (to keep names unique across servers)."""
    refresh_s: float = Field(default=60.0, gt=0)
    """Re-list the tools this often (besides on the server's list_changed notification)."""
    startup_timeout_s: float = Field(default=30.0, gt=0)
    required: bool = True
    """When true, a server that cannot be reached at start-up stops the start-up; otherwise it is retried."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) or `url` (streamable HTTP)")
        return self


class ToolsConfig(Strict):
    builtins: BuiltinsSpec = Field(default_factory=BuiltinsSpec)
    functions: list[FunctionSpec] = Field(default_factory=list)
    webhooks: list[WebhookSpec] = Field(default_factory=list)
    mcp_servers: list[McpSpec] = Field(default_factory=list)
    base_dir: Path = Path()
    """The folder relative paths are resolved against (set by `load`)."""

    @classmethod
    def load(cls, path: Path | str) -> ToolsConfig:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolConfigError(f"Cannot read the tools config {file}: {exc.strerror}") from None
        data = _parse(file, text)
        try:
            config = cls.model_validate({**data, "base_dir": file.resolve().parent})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ToolConfigError(f"Invalid tools config {file}: {problems}") from None
        for hook in config.webhooks:
            hook.url = expand_env(hook.url)
            hook.headers = {k: expand_env(v) for k, v in hook.headers.items()}
        for server in config.mcp_servers:
            server.env = {k: expand_env(v) for k, v in server.env.items()}
            server.headers = {k: expand_env(v) for k, v in server.headers.items()}
            if server.url is not None:
                server.url = expand_env(server.url)
        return config


def _parse(file: Path, text: str) -> dict[str, Any]:
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data: Any = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except ImportError:
        raise ToolConfigError("A YAML tools config needs PyYAML installed (or use TOML).") from None
    except Exception as exc:
        raise ToolConfigError(f"Cannot parse the tools config {file}: {exc}") from None
    if not isinstance(data, dict):
        raise ToolConfigError(f"The tools config {file} must be a mapping at the top level.")
    return data

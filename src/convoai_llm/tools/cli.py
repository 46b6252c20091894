"""`convoai-llm tools …`: inspect the tools config (mounted by the main CLI as `tools`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer

from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import ToolConfigError

tools_app = typer.Typer(no_args_is_help=True)


@tools_app.callback()
def tools_group() -> None:
    """Server-side tools: list what the tools config provides."""


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="CONVOAI_TOOLS_CONFIG", help="Tools config file (default: CONVOAI_TOOLS_CONFIG)."
    ),
]


def _config_path(config: Path | None) -> Path:
    if config is None:  # the default comes from Settings (CONVOAI_TOOLS_CONFIG, .env included): see cli.py
        typer.echo("No tools config: pass --config or set CONVOAI_TOOLS_CONFIG.", err=True)
        raise typer.Exit(2)
    return config


async def _list(path: Path, as_json: bool) -> list[str]:
    registry = await ToolRegistry.from_config(path)
    try:
        tools = registry.tools()
        lines: list[str] = []
        name_w = max((len(t.name) for t in tools), default=0)
        source_w = max((len(t.source) for t in tools), default=0)
        for tool in tools:
            if as_json:
                lines.append(orjson.dumps({"source": tool.source, **tool.definition()}).decode())
            else:
                first = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
                lines.append(f"{tool.name:<{name_w}}  {tool.source:<{source_w}}  {first}")
        for server in registry.servers:
            if not server.connected:
                lines.append(f"# {server.label}: not connected ({server.error or 'starting'})")
        return lines
    finally:
        await registry.aclose()


@tools_app.command("list")
def list_tools(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON definition per line.")] = False,
) -> None:
    """Load the config, start its MCP servers, and print every tool with its source."""
    path = _config_path(config)
    try:
        lines = asyncio.run(_list(path, as_json))
    except ToolConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not lines:
        typer.echo("No tools configured.")
    for line in lines:
        typer.echo(line)

"""A small MCP server over stdio (the official `mcp` SDK): a weather lookup with canned data.

Run it directly (`python examples/tools/mcp_weather.py`, or `--http 8765` for streamable HTTP at
http://127.0.0.1:8765/mcp) or name it in a tools config file:

    [[mcp]]
    name = "weather"
    command = "python"
    args = ["mcp_weather.py"]

`enable_forecast` adds a `get_forecast` tool and announces that the tool list changed, so a client
refreshes its tools.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

FORECASTS: dict[str, tuple[int, str]] = {
    "paris": (18, "light rain"),
    "london": (14, "overcast"),
    "beijing": (27, "sunny"),
    "tokyo": (22, "clear skies"),
}


def build_server() -> MCPServer:
    server = MCPServer("weather")
    cities = dict(FORECASTS)

    @server.tool()
    def get_weather(city: Annotated[str, Field(description="City name, e.g. Paris")]) -> str:
        """Current weather for a city: temperature in Celsius and conditions."""
        found = cities.get(city.strip().lower())
        if found is None:
            return f"No weather data for {city}."
        temp, sky = found
        return f"{city.title()}: {temp} degrees Celsius, {sky}."

    def get_forecast(city: str, days: int = 3) -> str:
        """A forecast for the next days (a tool that appears once `enable_forecast` has run)."""
        found = cities.get(city.strip().lower())
        if found is None:
            return f"No forecast for {city}."
        temp, sky = found
        return f"{city.title()}, next {days} days: around {temp} degrees Celsius, {sky}."

    @server.tool()
    async def enable_forecast(ctx: Context) -> str:
        """Turn on the `get_forecast` tool (shows how a server announces that its tool list changed)."""
        server.add_tool(get_forecast)
        await ctx.notify_tools_changed()
        return "The forecast tool is now available."

    return server


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Example MCP weather server.")
    parser.add_argument("--http", type=int, metavar="PORT", help="Serve streamable HTTP on 127.0.0.1:PORT/mcp.")
    opts = parser.parse_args()
    if opts.http:
        build_server().run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        build_server().run("stdio")

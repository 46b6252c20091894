from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web

from tests.servers import AppThread

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tools"
BOOKING_TOKEN = "tok-123"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def webhook() -> Iterator[AppThread]:
    """The example booking webhook (token required) plus /slow, /fail and /echo routes, on loopback."""
    app: web.Application = load_example("webhook_booking").build_app(BOOKING_TOKEN)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="stack trace would go here")

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.Response(text=f"{request.headers.get('X-Tenant')}|{request.content_type}|{body}")

    app.router.add_post("/slow", slow)
    app.router.add_post("/fail", fail)
    app.router.add_post("/echo", echo)
    with AppThread(app) as server:
        yield server


def mcp_block(name: str = "weather", **extra: str) -> str:
    script = (EXAMPLES / "mcp_weather.py").as_posix()
    lines = [f'[[mcp_servers]]\nname = "{name}"\ncommand = "python"\nargs = ["{script}"]']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def webhook_block(url: str, name: str = "book_table", **extra: str) -> str:
    lines = [f'[[webhooks]]\nname = "{name}"\nurl = "{url}"\ntimeout_s = 2']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"

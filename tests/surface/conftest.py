"""The app with the surface routes, under real uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from convoai_llm.api.app import create_app
from convoai_llm.api.surface import router as surface_router
from convoai_llm.providers.base import Provider
from convoai_llm.settings import Settings
from tests.conftest import make_settings
from tests.servers import UvicornThread

SurfaceFn = Callable[..., UvicornThread]


def surface_app(settings: Settings, provider: Provider | None = None, searcher: Any = None) -> FastAPI:
    app = create_app(settings, provider=provider, searcher=searcher)
    if not any(getattr(r, "path", None) == "/v1/responses" for r in app.routes):
        app.include_router(surface_router)  # until create_app registers these routes itself
    return app


@pytest.fixture
def surface() -> Iterator[SurfaceFn]:
    """`surface(provider=None, searcher=None, **settings)`: the app with these routes, served."""
    started: list[UvicornThread] = []

    def _serve(provider: Provider | None = None, searcher: Any = None, **settings: Any) -> UvicornThread:
        server = UvicornThread(surface_app(make_settings(**settings), provider, searcher))
        started.append(server.__enter__())
        return server

    yield _serve
    for server in started:
        server.__exit__(None, None, None)

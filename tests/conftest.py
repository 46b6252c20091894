from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from convoai_llm.api.app import create_app
from convoai_llm.providers.base import Provider
from convoai_llm.settings import Settings
from tests.servers import MockUpstream, UvicornThread

UPSTREAM_KEY = "sk-upstream-secret-0123456789"


def make_settings(**overrides: Any) -> Settings:
    """Settings that ignore the machine's environment and `.env`."""
    base: dict[str, Any] = {"keepalive_interval_s": 5.0}
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


ServeFn = Callable[..., UvicornThread]


@pytest.fixture
def serve() -> Iterator[ServeFn]:
    """Start the app under real uvicorn: `serve(provider=None, searcher=None, **settings)`."""
    started: list[UvicornThread] = []

    def _serve(provider: Provider | None = None, searcher: Any = None, **settings: Any) -> UvicornThread:
        unknown = set(settings) - set(Settings.model_fields)
        assert not unknown, f"unknown settings {unknown}"
        server = UvicornThread(create_app(make_settings(**settings), provider=provider, searcher=searcher))
        started.append(server.__enter__())
        return server

    yield _serve
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def proxy(serve: ServeFn, upstream: MockUpstream) -> UvicornThread:
    """The server proxying to the mock upstream with an upstream key."""
    upstream.seen.clear()
    return serve(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY)

"""Fixtures shared by the surface routes' end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from tests.servers import UvicornThread

ClientFn = Callable[..., openai.OpenAI]


@pytest.fixture
def client() -> Iterator[ClientFn]:
    """`client(server, key="sk-caller", prefix="/v1")`: an `openai.OpenAI` on that server, closed after the test."""
    made: list[openai.OpenAI] = []

    def make(server: UvicornThread, key: str = "sk-caller", prefix: str = "/v1") -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=server.url + prefix, api_key=key, max_retries=0))
        return made[-1]

    yield make
    for api in made:
        api.close()

"""Model routing: which provider answers a request, and under which model name.

The rule (documented in the README): `CONVOAI_PROVIDER=auto` picks the OpenAI-compatible upstream
when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set, otherwise the embedded local model. With the
upstream, the request's `model` is passed on as sent (`CONVOAI_DEFAULT_MODEL` when it is empty).
With the local model every request is answered by it, whatever `model` says, and every response
names the local model.
"""

from __future__ import annotations

from convoai_llm.providers.base import Provider


class Router:
    def __init__(self, provider: Provider, default_model: str) -> None:
        self.provider = provider
        self.default_model = default_model

    def resolve(self, requested: str) -> tuple[Provider, str]:
        served = self.provider.models()
        if self.provider.name == "openai":
            return self.provider, requested or self.default_model
        return self.provider, requested if requested in served else served[0]

    def models(self) -> list[str]:
        return self.provider.models()

"""Providers: one class each, one async-generator method (`stream`)."""

from convoai_llm.providers.base import Provider, ProviderRequest

__all__ = ["Provider", "ProviderRequest"]

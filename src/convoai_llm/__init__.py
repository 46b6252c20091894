"""convoai-llm: an OpenAI-compatible streaming endpoint for voice agents."""

__version__ = "0.1.0"

__all__ = ["__version__"]

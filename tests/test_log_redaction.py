"""`serve`'s logging config scrubs every configured secret by value, whatever its shape (issue 17.4)."""

from __future__ import annotations

import io
import logging
import logging.config

from convoai_llm.server.config import log_config
from tests.conftest import make_settings


def test_every_configured_secret_is_masked_in_log_lines() -> None:
    settings = make_settings(
        openai_api_key="0f3a9c77d1e2f3a4b5c6", api_keys="ourKeyAAAA1234",
        fallback_upstreams=[{"base_url": "http://fallback/v1", "api_key": "YmFzZTY0a2V5Cg=="}],
    )  # fmt: skip
    assert set(settings.secret_values) == {"0f3a9c77d1e2f3a4b5c6", "ourKeyAAAA1234", "YmFzZTY0a2V5Cg=="}
    config = log_config("info", settings.secret_values)
    logging.config.dictConfig(config)
    stream = io.StringIO()
    handler = logging.getLogger("convoai_llm").handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        logging.getLogger("convoai_llm").warning(
            "upstream said: bad key Bearer %s; ours %s; fallback %s", *settings.secret_values
        )
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    line = stream.getvalue()
    assert "upstream said" in line and line.count("***") == 3
    assert not any(secret in line for secret in settings.secret_values)

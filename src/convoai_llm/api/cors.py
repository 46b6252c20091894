"""CORS for browser apps on other origins: off unless `CONVOAI_CORS_ORIGINS` lists origins.

Starlette's `CORSMiddleware` (pure ASGI) does the protocol: the preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered before auth, limits and routing (200, or 400 for an
origin not on the list), and every response to an allowed origin, errors and streams included,
carries `Access-Control-Allow-Origin`. This module only decides the policy from the settings:
- `CONVOAI_CORS_ORIGINS=https://app.example.com,https://admin.example.com`: those origins;
  `*`: any origin, never with credentials;
- `CONVOAI_CORS_ALLOW_CREDENTIALS=true` (cookies, HTTP auth): only with listed origins. Bearer keys
  in `Authorization` need no credentials mode; with `*` the setting is refused at start-up.
- any request header (the OpenAI SDKs send `x-stainless-*`), `GET`/`POST`, `Retry-After` readable
  by the page, preflights cached for 10 minutes.
Off, nothing is added to the app: no cost on the hot path.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

METHODS = ("GET", "POST")
EXPOSED = ("Retry-After",)
MAX_AGE_S = 600


class CORSConfigError(ValueError):
    """The CORS settings contradict each other (refused at start-up, never at request time)."""


def cors_options(origins: list[str], allow_credentials: bool) -> dict[str, Any] | None:
    """`CORSMiddleware`'s options for these settings, or None when no origin is configured (CORS off)."""
    origins = [o.strip().rstrip("/") for o in origins if o.strip()]
    if not origins:
        return None
    if "*" in origins and allow_credentials:
        raise CORSConfigError(
            "CONVOAI_CORS_ALLOW_CREDENTIALS needs the allowed origins listed: it is never allowed with `*`."
        )
    return {
        "allow_origins": ["*"] if "*" in origins else origins,
        "allow_methods": METHODS,
        "allow_headers": ["*"],
        "allow_credentials": allow_credentials,
        "expose_headers": EXPOSED,
        "max_age": MAX_AGE_S,
    }


def add_cors(app: Starlette, origins: list[str], allow_credentials: bool) -> None:
    """Add the policy as the outermost middleware (call it after every other `add_middleware`)."""
    options = cors_options(origins, allow_credentials)
    if options is not None:
        app.add_middleware(CORSMiddleware, **options)

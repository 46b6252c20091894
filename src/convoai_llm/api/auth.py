"""Bearer-key auth: constant-time comparison against every configured key; keys never logged."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from convoai_llm.errors import AuthError


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(self, keys: list[SecretStr]) -> None:
        self._keys = [k.get_secret_value().encode() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def is_key(self, token: str) -> bool:
        given = token.encode()
        ok = False
        for key in self._keys:  # compare against all keys: time does not depend on which one matched
            ok |= hmac.compare_digest(given, key)
        return ok

    def check(self, authorization: str | None) -> str | None:
        """Return the caller's bearer token; raise `AuthError` when auth is on and it is not a key."""
        token = bearer_token(authorization)
        if not self._keys:
            return token
        if token is None:
            raise AuthError("Missing bearer token: send `Authorization: Bearer <key>`.")
        if not self.is_key(token):
            raise AuthError("Incorrect API key provided.")
        return token

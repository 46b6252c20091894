"""Secrets kept out of every error text and log line, by value.

A `Redactor` is built once at start-up from every configured secret (the upstream key, the fallback
upstreams' keys, our own API keys); a request adds the caller's token. `scrub` replaces each of them
wherever it appears (whatever its shape: hex, base64, `sk-…`), plus anything shaped like an API key.
`RedactingFilter` applies the same to log records (message, arguments and traceback) on a handler.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
KEY_SHAPE = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-*]{6,}", re.IGNORECASE)
_MIN_SECRET = 4
"""Shorter values are not scrubbed by value (they would mask ordinary words); keys are longer."""


class Redactor:
    """Scrubs a fixed set of secrets (and key-shaped words) from text."""

    __slots__ = ("_extra", "_pattern", "secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if s and len(s) >= _MIN_SECRET)
        self._pattern = _alternation(self.secrets)
        self._extra: tuple[str, ...] = ()

    def with_secrets(self, *extra: str | None) -> Redactor:
        """This redactor plus per-request secrets (the caller's token); cheap: nothing is compiled."""
        more = tuple(s for s in extra if s and len(s) >= _MIN_SECRET and s not in self.secrets)
        if not more:
            return self
        out = Redactor.__new__(Redactor)
        out.secrets, out._pattern, out._extra = self.secrets, self._pattern, self._extra + more
        return out

    def scrub(self, text: str, *extra: str | None) -> str:
        more = [s for s in (*self._extra, *extra) if s and len(s) >= _MIN_SECRET]
        if more:  # longest first, so a secret inside another is not left half-masked
            for secret in sorted({*self.secrets, *more}, key=len, reverse=True):
                text = text.replace(secret, MASK)
        elif self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return KEY_SHAPE.sub(MASK, text)


def _alternation(secrets: frozenset[str]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    longest_first = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(re.escape(s) for s in longest_first))


class RedactingFilter(logging.Filter):
    """A handler filter: the record's final message and traceback text, scrubbed.

    Install it on the handlers (`logging.config` `filters` with `"()"`), not on a logger: a logger's
    filters do not see records propagated from its children.
    """

    def __init__(self, redactor: Redactor | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.scrub(record.stack_info)
        return True

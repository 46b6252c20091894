"""Log injection: control characters in any logged value are escaped, so one record is one line.

`EscapeControl` is a `logging.Filter` for handlers: it formats the record's message, escapes C0/C1
control characters, DEL and the Unicode line separators (`\\n` → `\\x0a`, ESC → `\\x1b`), and leaves
the record with the escaped text and no arguments. Tracebacks (`exc_info`) are not touched: they are
ours. `escaping(logger)` installs it on every handler the logger's records reach, for the app's life.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def escape(text: str) -> str:
    return _CONTROL.sub(_escaped, text)


class EscapeControl(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True


def reached_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record logged on `logger` goes to (up the hierarchy while it propagates)."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        found += [h for h in current.handlers if h not in found]
        current = current.parent if current.propagate else None
    return found


@contextmanager
def escaping(logger: logging.Logger) -> Iterator[EscapeControl]:
    """Escape control characters on every handler `logger`'s records reach, until the block ends."""
    flt = EscapeControl()
    handlers = reached_handlers(logger)
    for handler in handlers:
        handler.addFilter(flt)
    try:
        yield flt
    finally:
        for handler in handlers:
            handler.removeFilter(flt)

"""A byte-level SSE decoder (the WHATWG event-stream rules that matter for chat completions).

Lines end in CRLF, LF or CR; a chunk boundary may fall anywhere, even between CR and LF. Lines
starting with `:` are comments (keep-alives); `data:` lines of one event are joined with `\\n`; a
blank line dispatches the event. Other fields (`event`, `id`, `retry`) are read and ignored.

A hostile peer cannot make it buffer without bound: a line, or an event's data, longer than
`max_event_bytes` raises `EventTooLarge` as soon as the buffer passes the cap.
"""

from __future__ import annotations

DONE = "[DONE]"
MAX_EVENT_BYTES = 1 << 20


class EventTooLarge(ValueError):
    """A line or an event's data passed the decoder's cap."""


class SSEDecoder:
    __slots__ = ("_buf", "_data", "_data_size", "_max", "_pending_cr")

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._data_size = 0
        self._max = max_event_bytes
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[str]:
        """Feed raw bytes; return the `data` of every event completed by them."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        buf = self._buf + chunk if self._buf else chunk
        out: list[str] = []
        if b"\r" not in buf:  # LF only (nearly every upstream): one split in C instead of a find per line
            lines = buf.split(b"\n")
            self._buf = lines.pop()
            self._lf_lines(lines, out)
            self._check_buffer()
            return out
        start = 0
        n = len(buf)
        while start < n:
            nl = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, nl if nl != -1 else n)
            if cr != -1:
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == n:
                    self._pending_cr = True
            elif nl != -1:
                end, nxt = nl, nl + 1
            else:
                break
            self._line(buf[start:end], out)
            start = nxt
        self._buf = buf[start:]
        self._check_buffer()
        return out

    def _lf_lines(self, lines: list[bytes], out: list[str]) -> None:
        """Complete lines; an event of one `data: ` line and its blank line (what chat upstreams send)
        is taken in place, without the per-line dispatch."""
        n = len(lines)
        i = 0
        while i < n:
            line = lines[i]
            if (
                i + 1 < n
                and not lines[i + 1]
                and not self._data
                and line.startswith(b"data: ")
                and len(line) - 6 <= self._max
            ):
                out.append(line[6:].decode("utf-8", errors="replace"))
                i += 2
                continue
            self._line(line, out)
            i += 1

    def _check_buffer(self) -> None:
        if len(self._buf) > self._max:
            self._buf = b""
            raise EventTooLarge(f"an SSE line is longer than {self._max} bytes")

    def flush(self) -> list[str]:
        """End of stream: a final unterminated line and event are dispatched."""
        out: list[str] = []
        if self._buf:
            self._line(self._buf, out)
            self._buf = b""
        self._line(b"", out)
        return out

    def _line(self, line: bytes, out: list[str]) -> None:
        if not line:
            if self._data:
                out.append("\n".join(self._data))
                self._data = []
                self._data_size = 0
            return
        if line[0] == 0x3A:  # ":" comment
            return
        field, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            self._data_size += len(value)
            if self._data_size > self._max:
                self._data, self._data_size = [], 0
                raise EventTooLarge(f"an SSE event is longer than {self._max} bytes")
            self._data.append(value.decode("utf-8", errors="replace"))

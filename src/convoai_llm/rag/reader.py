"""Reader: turns a file (.txt, .md, .html, .pdf) into plain text with ``#`` headings and a title."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader

from convoai_llm.rag.files import DEFAULT_MAX_FILE_BYTES, read_capped

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})

_MD_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "blockquote", "pre", "dd", "dt"}
)
# Closing punctuation, ASCII then full-width.
_CLOSING = ".!?;:,)\u3002\uff01\uff1f\uff1b\uff1a\uff0c\uff09"
_SKIP_TAGS = frozenset({"script", "style", "head", "noscript", "template", "svg"})


class UnsupportedFileError(ValueError):
    """The file's type is not one the knowledge base reads, or its content can't be read."""


@dataclass(frozen=True, slots=True)
class Document:
    """A file's text (markdown-ish: ``#`` headings, blank-line paragraphs) and its title."""

    text: str
    title: str


class _HtmlText(HTMLParser):
    """HTML to markdown-ish text: h1-h6 become ``#`` headings, block tags end paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP_TAGS:
            self._skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


class Reader:
    """Reads one file. Raises :class:`UnsupportedFileError` for types it does not handle or bad content.

    ``data``: the file's bytes when the caller already read them (``files.read_capped``); otherwise the
    file is read here, through the same size-capped, regular-files-only read.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        self.max_bytes = max_bytes

    def read(self, path: Path, data: bytes | None = None) -> Document:
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnsupportedFileError(f"unsupported file type {suffix or '(none)'!r}")
        content = read_capped(path, self.max_bytes) if data is None else data
        if suffix == ".pdf":
            return self._pdf(content, path)
        try:
            raw = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnsupportedFileError(f"not UTF-8 text: {exc.reason}") from exc
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as text mode reads
        if suffix in {".html", ".htm"}:
            return self._html(raw, path)
        if suffix == ".txt":
            raw = _txt_headings(raw)
        return Document(raw, _first_heading(raw) or _first_line(raw) or path.stem)

    def _html(self, raw: str, path: Path) -> Document:
        parser = _HtmlText()
        parser.feed(raw)
        parser.close()
        text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        return Document(text, parser.title or _first_heading(text) or path.stem)

    def _pdf(self, content: bytes, path: Path) -> Document:
        try:
            reader = PdfReader(io.BytesIO(content))
            pages = [page.extract_text() or "" for page in reader.pages]
            title = str(reader.metadata.title) if reader.metadata and reader.metadata.title else ""
        except Exception as exc:  # pypdf raises many types for damaged files
            raise UnsupportedFileError(f"unreadable PDF: {exc}") from exc
        text = "\n\n".join(page.strip() for page in pages if page.strip())
        return Document(text, title or _first_line(text) or path.stem)


def _txt_headings(text: str) -> str:
    """Plain text: a one-line paragraph that is short and has no closing punctuation becomes a heading
    (``#`` for the first, ``##`` after)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    out: list[str] = []
    for paragraph in paragraphs:
        line = paragraph.strip()
        if "\n" not in line and 0 < len(line) <= 60 and line[-1] not in _CLOSING:
            out.append(("# " if not out else "## ") + line)
        else:
            out.append(paragraph)
    return "\n\n".join(out)


def _first_heading(text: str) -> str:
    match = _MD_H1.search(text)
    return match.group(1) if match else ""


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""

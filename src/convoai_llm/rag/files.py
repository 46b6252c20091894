"""Files to ingest from hostile folders: regular files under the given roots only, size-capped reads.

``collect`` walks the roots without following symbolic links out of them (a link to ``/etc/passwd`` or to a
folder elsewhere is reported and skipped unless ``follow_symlinks``), never opens anything but a regular
file (FIFOs, sockets and devices such as ``/dev/zero`` are reported), survives link loops and unreadable
folders, and reports files over the size cap instead of reading them. ``read_capped`` opens without
blocking (a FIFO swapped in after the walk cannot hang it), checks again that it holds a regular file, and
reads in blocks up to the cap. ``printable`` escapes control characters so a file name with a newline or
an ANSI escape prints as one visible line.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path that was not ingested, and why."""

    path: str
    reason: str


class FileRejectedError(OSError):
    """A file that must not be read (not a regular file, or over the size cap)."""


def printable(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1, line and paragraph separators) as ``\\xNN``/``\\uNNNN``."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029) or 0x202A <= code <= 0x202E:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def collect(
    paths: Iterable[Path],
    suffixes: frozenset[str],
    *,
    follow_symlinks: bool = False,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> tuple[list[Path], list[Skipped]]:
    """Files to ingest under ``paths`` (sorted per root, each once) and the paths skipped with a reason.

    Inside folders, hidden entries and files of other types are passed over silently; anything else that
    can't be used is reported. A path named explicitly is always reported when it can't be used.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for path in paths:
        try:
            is_dir = path.is_dir()
        except OSError as exc:
            skipped.append(Skipped(str(path), _why(exc)))
            continue
        found = _walk(path, suffixes, follow_symlinks, skipped) if is_dir else _named(path, suffixes, skipped)
        for candidate in found:
            real = _check(candidate, max_bytes, skipped)
            if real is not None and real not in seen:
                seen.add(real)
                files.append(candidate)
    return files, skipped


def _named(path: Path, suffixes: frozenset[str], skipped: list[Skipped]) -> Iterator[Path]:
    if not os.path.lexists(path):
        skipped.append(Skipped(str(path), "no such file or folder"))
    elif path.suffix.lower() not in suffixes:
        skipped.append(Skipped(str(path), "unsupported file type"))
    else:
        yield path


def _walk(root: Path, suffixes: frozenset[str], follow: bool, skipped: list[Skipped]) -> Iterator[Path]:
    """Candidate files under ``root``: links resolved and kept only when they stay inside the root."""
    base = root.resolve()
    visited: set[Path] = set()

    def on_error(exc: OSError) -> None:
        skipped.append(Skipped(str(exc.filename or root), _why(exc)))

    for folder, dirs, names in os.walk(root, onerror=on_error, followlinks=follow):
        here = Path(folder)
        real = here.resolve()
        if real in visited or (not follow and not real.is_relative_to(base)):
            dirs[:] = []  # a link loop, or a linked folder outside the root
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if (here / name).is_symlink() and not follow:
                skipped.append(Skipped(str(here / name), "symbolic link to a folder (not followed)"))
        for name in sorted(names):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            path = here / name
            problem = _link_problem(path, base) if path.is_symlink() else None
            if problem == "symbolic link out of the folder (not followed)" and follow:
                problem = None
            if problem:
                skipped.append(Skipped(str(path), problem))
                continue
            yield path


def _link_problem(link: Path, base: Path) -> str | None:
    """Why a symbolic link inside a folder can't be ingested, or None when it points inside ``base``."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return "symbolic link loop"
    except OSError as exc:
        return "symbolic link loop" if exc.errno == errno.ELOOP else "dangling symbolic link"
    return None if target.is_relative_to(base) else "symbolic link out of the folder (not followed)"


def _check(path: Path, max_bytes: int, skipped: list[Skipped]) -> Path | None:
    """The file's real path when it is a regular file within the cap, else None (and a report)."""
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except RuntimeError:
        skipped.append(Skipped(str(path), "symbolic link loop"))
        return None
    except OSError as exc:
        skipped.append(Skipped(str(path), "symbolic link loop" if exc.errno == errno.ELOOP else _why(exc)))
        return None
    if not stat.S_ISREG(info.st_mode):
        skipped.append(Skipped(str(path), "not a regular file"))
        return None
    if info.st_size > max_bytes:
        skipped.append(Skipped(str(path), f"too large ({_mb(info.st_size)} MB, the limit is {_mb(max_bytes)} MB)"))
        return None
    return real


def read_capped(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, read in blocks; raises ``FileRejectedError`` for anything
    else or past ``max_bytes`` (the file may have changed since the walk)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileRejectedError("not a regular file")
        blocks: list[bytes] = []
        size = 0
        while block := handle.read(_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise FileRejectedError(f"too large (over {_mb(max_bytes)} MB)")
            blocks.append(block)
    return b"".join(blocks)


def _why(exc: OSError) -> str:
    if exc.strerror == "No such file or directory":
        return "no such file or folder (or a dangling link)"
    return exc.strerror or type(exc).__name__


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f}"

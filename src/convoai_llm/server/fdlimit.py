"""The open-file limit: raised to the hard limit at start-up where the system allows it, and said so."""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger("convoai_llm.server")

# When the hard limit is "unlimited" the kernel still caps files per process (fs.nr_open, 1 048 576 by default).
UNLIMITED_TARGET = 1 << 20


@dataclass(frozen=True)
class FileLimit:
    before: int
    after: int
    hard: int

    @property
    def files(self) -> int | None:
        """The soft limit in force, or None when it is unlimited."""
        return None if self.after == resource.RLIM_INFINITY else self.after

    def describe(self) -> str:
        hard = "unlimited" if self.hard == resource.RLIM_INFINITY else str(self.hard)
        if self.after > self.before:
            return f"open-file limit raised from {self.before} to {self.after} (hard limit {hard})"
        return f"open-file limit {self.after} (hard limit {hard}; not raised)"


def raise_open_file_limit() -> FileLimit:
    """Set the soft RLIMIT_NOFILE to the hard limit (children inherit it) and log the result."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    after = soft
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            after = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    limit = FileLimit(before=soft, after=after, hard=hard)
    log.info("%s", limit.describe())
    return limit

"""Summarise a py-spy ``--format raw`` capture (collapsed stacks) into the functions and packages that
hold the CPU: self time by leaf function, inclusive time by function, self time by package."""

from __future__ import annotations

import re
import sys
from collections import Counter
from typing import Any

FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


ROOT_FRAMES = (
    "<module> ",
    "main (convoai_llm.cli)",
    "serve (convoai_llm.cli)",
    "run (uvicorn)",
    "Server.run (uvicorn)",
    "Server.serve (uvicorn)",
    "asyncio_run (uvicorn)",
    "Runner.run (stdlib:asyncio)",
    "run (stdlib:asyncio)",
)


def package_of(path: str) -> str:
    """A short owner for a source file: the top-level package (py-spy prints paths relative to
    sys.path, e.g. ``uvicorn/protocols/http/httptools_impl.py``), ``convoai_llm.<subpackage>``, or
    ``stdlib:<module>``."""
    if path.startswith("<frozen "):
        return "stdlib:" + path.removeprefix("<frozen ").rstrip(">")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/src/convoai_llm/" in path:
        path = "convoai_llm/" + path.split("/src/convoai_llm/", 1)[1]
    elif "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    parts = path.split("/")
    top = parts[0].removesuffix(".py")
    if top == "convoai_llm" and len(parts) > 1:
        return "convoai_llm." + parts[1].removesuffix(".py")
    if top in sys.stdlib_module_names:
        return "stdlib:" + top
    return top


def short(frame: str) -> str:
    m = FRAME_RE.match(frame.strip())
    if not m:
        return frame.strip()
    return f"{m['func']} ({package_of(m['file'])})"


def summarise_collapsed(text: str, top: int = 25) -> dict[str, Any]:
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    self_pkg: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        line = line.strip()
        if not line or " " not in line:
            continue
        stack, _, count_s = line.rpartition(" ")
        try:
            count = int(count_s)
        except ValueError:
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        self_fn[short(leaf)] += count
        m = FRAME_RE.match(leaf.strip())
        self_pkg[package_of(m["file"]) if m else "?"] += count
        for f in {short(f) for f in frames}:
            incl_fn[f] += count

    def table(c: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)] if total else []

    # Frames on (nearly) every stack (the CLI, uvicorn's and asyncio's run loops) say nothing. py-spy
    # sometimes catches a resumed coroutine without its outer frames, so match those by name too.
    common = {
        k
        for k, v in incl_fn.items()
        if (total and v / total > 0.95) or k.startswith(ROOT_FRAMES) or k.endswith(("(typer)", "(click)"))
    }
    for k in common:
        del incl_fn[k]
    return {
        "samples": total,
        "self_by_function": table(self_fn),
        "self_by_package": table(self_pkg),
        "inclusive_by_function": table(incl_fn),
    }

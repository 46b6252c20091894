"""Headless Chromium (the Debian package) driven by Playwright's sync API, for the playground tests.

Playwright's own browser download is never used: the browser is `/usr/bin/chromium`. `browser_or_skip`
skips, with the reason, only when Playwright cannot be imported or Chromium is not there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CONVOAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DOCS_SHOT = ROOT / "docs" / "playground.png"


def skip_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright; its browser download is not needed)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or make system-deps as root)"
    return None


def screenshot(page: Any, name: str, *, docs: bool = False) -> Path:
    """Saves a full-page screenshot under tests/artifacts/; `docs` also refreshes docs/playground.png
    when it is missing or CONVOAI_UPDATE_SCREENSHOT=1 (so a test run does not rewrite a tracked file)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"playground-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and (not DOCS_SHOT.exists() or os.environ.get("CONVOAI_UPDATE_SCREENSHOT") == "1"):
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SHOT), full_page=True)
    return path


# Records every distinct state of the last turn's waiting message and answer, with the time it was seen,
# so a test can tell text that streamed in from text that arrived in one piece.
OBSERVE = """() => {
  const seen = (window.__seen = []);
  const log = document.getElementById('log');
  const note = () => {
    const turn = log.lastElementChild;
    if (!turn) return;
    const waiting = turn.querySelector('.waiting');
    const state = {
      answer: turn.querySelector('.answer').textContent,
      waiting: waiting.hidden ? '' : waiting.textContent,
      t: performance.now(),
    };
    const last = seen[seen.length - 1];
    if (!last || last.answer !== state.answer || last.waiting !== state.waiting) seen.push(state);
  };
  new MutationObserver(note).observe(log, {childList: true, subtree: true, characterData: true, attributes: true});
}"""

"""Helpers for the speech tests: a scripted TTS engine, and this process's children."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from convoai_llm.speech.tts import Synthesis, TTSUnavailable
from convoai_llm.speech.words import estimate

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@dataclass
class FakeTTS:
    """Deterministic speech: 50 ms of a non-silent ramp per character, after `delays[text]` seconds."""

    delays: dict[str, float] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def available(self) -> bool:
        return True

    @staticmethod
    def pcm_for(text: str) -> bytes:
        stripped = text.strip()
        if not any(c.isalnum() for c in stripped):
            return b""
        samples = 800 * len(stripped)
        return b"".join(((i % 2000) + 1000).to_bytes(2, "little", signed=True) for i in range(samples))

    async def synthesize(self, text: str) -> Synthesis:
        self.calls.append(text)
        try:
            await asyncio.sleep(self.delays.get(text.strip(), 0.0))
        except asyncio.CancelledError:
            self.cancelled.append(text)
            raise
        pcm = self.pcm_for(text)
        return Synthesis(pcm, estimate(text.strip(), pcm))


@dataclass
class FakeEngine(FakeTTS):
    """A `FakeTTS` with the component lifecycle; `fail_start` makes `start` raise `TTSUnavailable`."""

    fail_start: bool = False
    started: bool = False
    closed: bool = False

    async def start(self) -> None:
        if self.fail_start:
            raise TTSUnavailable("not installed")
        self.started = True

    async def ready(self) -> bool:
        return self.started and not self.closed

    async def aclose(self) -> None:
        self.closed = True


def children(name: str | None = None) -> list[tuple[int, str, str]]:
    """(pid, command name, state) of this process's children, zombies included."""
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and (name is None or comm == name):
            out.append((int(entry.name), comm, state))
    return out

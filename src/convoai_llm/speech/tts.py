"""Text to speech: the `TTSEngine` interface, and espeak-ng behind it.

`EspeakTTS` runs ``espeak-ng --stdout`` as an asyncio subprocess per sentence (the text goes in on
stdin, so it can never be taken for an option), reads the WAV it writes (22 050 Hz mono 16-bit) and
resamples it to the engine's 16 kHz with 1 dB of headroom. The voice is chosen per sentence by
script: any Han ideograph → ``cmn-latn-pinyin`` (the plain ``cmn`` voice of espeak-ng 1.51 reads
tone numbers aloud), else ``en-us``. A sentence takes ~15 ms on these machines.

If the task awaiting `synthesize` is cancelled (client hang-up), the child is killed and reaped
before the cancellation propagates. A missing binary raises `TTSUnavailable` (HTTP 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from convoai_llm.errors import TTSFailed, TTSUnavailable
from convoai_llm.events import AudioWord
from convoai_llm.speech import words as word_timing
from convoai_llm.speech.pcm import (
    BYTES_PER_MS,
    HEADROOM_DB,
    SAMPLE_RATE,
    AudioFormatError,
    read_wav_stream,
    to_engine_pcm,
)
from convoai_llm.speech.segmenter import is_cjk


@dataclass(frozen=True, slots=True)
class Synthesis:
    """Speech for one piece of text: PCM16 LE 16 kHz mono, and word times (ms from its start)."""

    pcm: bytes
    words: tuple[AudioWord, ...] = ()

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / BYTES_PER_MS


@runtime_checkable
class TTSEngine(Protocol):
    def available(self) -> bool:
        """Whether `synthesize` can work (cheap: no synthesis)."""
        ...

    async def synthesize(self, text: str) -> Synthesis:
        """Speech for `text`; empty `pcm` when the text has nothing to say (only punctuation)."""
        ...


_MARKUP = re.compile(r"[*_`#>|~]+|\[\[|\]\]")


def speakable(text: str) -> str:
    """What the TTS should read: markdown markers and espeak's ``[[phoneme]]`` brackets removed."""
    return " ".join(_MARKUP.sub(" ", text).split())


def has_han(text: str) -> bool:
    return any(is_cjk(c) and c.isalpha() for c in text)


@dataclass
class EspeakTTS:
    """espeak-ng through its command line; one short-lived process per sentence."""

    binary: str = "espeak-ng"
    english_voice: str = "en-us"
    chinese_voice: str = "cmn-latn-pinyin"
    words_per_minute: int = 175
    timeout_s: float = 10.0

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def voice_for(self, text: str) -> str:
        return self.chinese_voice if has_han(text) else self.english_voice

    def command(self, text: str) -> list[str]:
        # The text is the last argument with a leading space, so it is never read as an option
        # ("--help" is spoken). Not stdin: a child left reading a pipe whose writer was cancelled
        # under uvloop waited for EOF forever and held up the hang-up (seen in tests).
        return [self.binary, "-v", self.voice_for(text), "-s", str(self.words_per_minute), "--stdout", " " + text]

    async def synthesize(self, text: str) -> Synthesis:
        spoken = speakable(text)
        if not any(c.isalnum() for c in spoken):
            return Synthesis(b"")
        wav = await self._run(self.command(spoken))
        try:
            pcm = to_engine_pcm(read_wav_stream(wav), gain_db=HEADROOM_DB)
        except AudioFormatError as exc:
            raise TTSFailed(f"espeak-ng wrote unreadable audio: {exc}") from exc
        return Synthesis(pcm, word_timing.estimate(spoken, pcm, SAMPLE_RATE))

    async def _run(self, argv: list[str]) -> bytes:
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
        try:
            proc = await asyncio.shield(spawn)
        except FileNotFoundError as exc:
            raise TTSUnavailable(f"{self.binary} is not installed (Debian: apt-get install espeak-ng)") from exc
        except asyncio.CancelledError:
            # Cancelled while the process was being started: it may exist already. Let the start
            # finish, then kill and reap it, so a hang-up never leaves an espeak-ng behind.
            with contextlib.suppress(Exception):
                started = await spawn
                with contextlib.suppress(ProcessLookupError):
                    started.kill()
                await started.wait()
            raise
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError as exc:
            raise TTSFailed(f"{self.binary} took longer than {self.timeout_s:g} s") from exc
        finally:
            if proc.returncode is None:  # cancelled or timed out: kill and reap before leaving
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(proc.wait())
        if proc.returncode != 0 or not out:
            message = err.decode("utf-8", "replace").strip()[:200]
            if "voice" in message.lower():
                raise TTSUnavailable(f"{self.binary}: {message}")
            raise TTSFailed(f"{self.binary} exited with status {proc.returncode}: {message}")
        return out

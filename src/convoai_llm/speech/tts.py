"""Text to speech: the `TTSEngine` interface, and espeak-ng behind it.

A `TTSEngine` speaks the text it is given in one voice; choosing the voice per script run and making
text speakable is :class:`~convoai_llm.speech.voices.VoiceSet`'s job. `EspeakTTS` runs
``espeak-ng --stdout`` as an asyncio subprocess per piece of text (the text is the last argument with
a leading space, so it is never taken for an option), reads the WAV it writes (22 050 Hz mono 16-bit)
and resamples it to the engine's 16 kHz, its peaks limited to -1 dBFS. Voices: ``en-us``, and
``cmn-latn-pinyin`` for Chinese (the plain ``cmn`` voice of espeak-ng 1.51 reads tone numbers aloud).
A sentence takes ~15 ms on these machines.

If the task awaiting `synthesize` is cancelled (client hang-up), the child is killed and reaped
before the cancellation propagates. A missing binary raises `TTSUnavailable` (HTTP 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from convoai_llm.errors import TTSFailed, TTSUnavailable
from convoai_llm.events import AudioWord
from convoai_llm.speech import words as word_timing
from convoai_llm.speech._script import has_han
from convoai_llm.speech.pcm import (
    BYTES_PER_MS,
    HEADROOM_DB,
    SAMPLE_RATE,
    AudioFormatError,
    read_wav_stream,
    to_engine_pcm,
)


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


def has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


@dataclass
class EspeakTTS:
    """espeak-ng through its command line; one short-lived process per piece of text.

    `voice` None (the default, as before voice sets): `cmn-latn-pinyin` for text with a Han character,
    else `en-us`, per call. A `VoiceSet` gives each engine one voice and cuts mixed text into runs.
    """

    voice: str | None = None
    binary: str = "espeak-ng"
    words_per_minute: int = 175
    timeout_s: float = 10.0

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    async def start(self) -> None:
        """Nothing to load: each synthesis starts its own process."""

    async def ready(self) -> bool:
        return self.available()

    async def aclose(self) -> None:
        """Nothing held between syntheses (a cancelled one kills its own process)."""

    def command(self, text: str) -> list[str]:
        # The text is the last argument with a leading space, so it is never read as an option
        # ("--help" is spoken). Not stdin: a child left reading a pipe whose writer was cancelled
        # under uvloop waited for EOF forever and held up the hang-up (seen in tests).
        voice = self.voice or ("cmn-latn-pinyin" if has_han(text) else "en-us")
        return [self.binary, "-v", voice, "-s", str(self.words_per_minute), "--stdout", " " + text]

    async def synthesize(self, text: str) -> Synthesis:
        spoken = " ".join(text.split())
        if not has_words(spoken):
            return Synthesis(b"")
        pcm = b""
        for piece in argument_pieces(spoken):  # one process per piece: an argument is capped by the OS
            wav = await self._run(self.command(piece))
            try:
                pcm += to_engine_pcm(read_wav_stream(wav), peak_db=HEADROOM_DB)
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


MAX_ARGUMENT_BYTES = 32 * 1024
"""One command-line argument stays well under Linux's 128 KiB limit (MAX_ARG_STRLEN)."""


def argument_pieces(text: str, limit: int = MAX_ARGUMENT_BYTES) -> list[str]:
    """`text` in pieces of at most `limit` UTF-8 bytes, cut at the last space when there is one."""
    pieces: list[str] = []
    while len(text.encode()) > limit:
        cut = len(text.encode()[:limit].decode("utf-8", "ignore"))
        space = text.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces

"""The voices a reply is spoken with: one `TTSEngine` per script, text made speakable per run.

`VoiceSet` is itself a `TTSEngine` (what :func:`~convoai_llm.speech.voice.speak` takes) with the
app's component lifecycle (`start`, `ready`, `aclose`). For each sentence it gets (a transcript, see
:mod:`.speakable`) it

1. cuts the text into script runs (:func:`._script.runs`: Latin → the English voice, Han → the Chinese
   voice; digits and marks go with their neighbours),
2. turns each run into the words its voice reads (:func:`.speakable.spoken`: addresses, numbers,
   dates, money… in that run's language),
3. synthesizes the runs concurrently, each with its own engine, and joins them in order, trimming the
   silence each engine puts around a piece (≤ 60 ms between runs of one sentence, ≤ 120 ms after a
   clause, ≤ 400 ms after a sentence, ≤ 60 ms before it), with word times from each run's own text.
   The sentence bounds sit just above espeak-ng's own (≤ ~50 ms before, 300 to 350 ms after), so a
   one-script sentence reaches the caller as the engine made it: cutting espeak-ng's pause at the end
   to 250 ms cost the recognizer a word ("look that up" heard as "look at her").

Built at start-up by :func:`build_voices`; `start()` loads the engines. When the configured English
engine cannot start (Piper or its voice not installed), English falls back to espeak-ng, with one
warning in the log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from convoai_llm.errors import TTSUnavailable
from convoai_llm.events import AudioWord
from convoai_llm.speech import pcm
from convoai_llm.speech._script import Voice
from convoai_llm.speech.espeak_lib import EspeakLibrary, EspeakLibTTS
from convoai_llm.speech.piper import PiperTTS
from convoai_llm.speech.speakable import pieces
from convoai_llm.speech.tts import EspeakTTS, Synthesis, TTSEngine
from convoai_llm.speech.words import estimate, shift

log = logging.getLogger("convoai_llm.speech")

EnglishVoice = Literal["piper", "espeak"]
_CLAUSE_ENDS = tuple(",，、:：")  # noqa: RUF001


class Engine(TTSEngine, Protocol):
    """A TTS engine with the component lifecycle."""

    async def start(self) -> None: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


@dataclass
class VoiceSet:
    """English and Chinese engines behind one `TTSEngine`; `fallback` speaks English if `english` can't start."""

    english: Engine
    chinese: Engine
    fallback: Engine | None = None
    between_runs_ms: float = 60.0
    lead_ms: float = 60.0
    clause_tail_ms: float = 120.0
    sentence_tail_ms: float = 400.0

    async def start(self) -> None:
        try:
            await self.english.start()
        except TTSUnavailable as exc:
            if self.fallback is None:
                raise
            log.warning("English voice unavailable (%s); speaking English with %s", exc, type(self.fallback).__name__)
            self.english = self.fallback
            await self.english.start()
        if self.chinese is not self.english:
            await self.chinese.start()

    async def ready(self) -> bool:
        return await self.english.ready() and await self.chinese.ready()

    async def aclose(self) -> None:
        for engine in {id(e): e for e in (self.english, self.chinese, self.fallback) if e is not None}.values():
            await engine.aclose()

    def available(self) -> bool:
        return self.english.available() and self.chinese.available()

    def engine_for(self, voice: Voice) -> Engine:
        return self.chinese if voice == "han" else self.english

    async def synthesize(self, text: str) -> Synthesis:
        """Speech for one transcript sentence: each script run in its own voice, joined in order."""
        runs = pieces(text)
        if not runs:
            return Synthesis(b"")
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.engine_for(run.voice).synthesize(run.said)) for run in runs]
        audio = b""
        words: list[AudioWord] = []
        for index, (run, task) in enumerate(zip(runs, tasks, strict=True)):
            tail = self.between_runs_ms if index < len(runs) - 1 else self._tail(text)
            part = pcm.trim(task.result().pcm, lead_ms=10.0 if index else self.lead_ms, tail_ms=tail)
            words.extend(shift(estimate(run.text.strip(), part), round(len(audio) / pcm.BYTES_PER_MS)))
            audio += part
        return Synthesis(audio, tuple(words))

    def _tail(self, text: str) -> float:
        return self.clause_tail_ms if text.rstrip().endswith(_CLAUSE_ENDS) else self.sentence_tail_ms


def build_voices(
    english: EnglishVoice = "espeak",
    *,
    piper_model: Path | None = None,
    piper_threads: int = 1,
    espeak_binary: str = "espeak-ng",
    espeak_in_process: bool = True,
) -> VoiceSet:
    """The voice set from settings: English by Piper (espeak-ng as its fallback) or espeak-ng; Chinese
    by espeak-ng's `cmn-latn-pinyin`; espeak-ng warm in this process (one libespeak-ng for both voices,
    the command line if it can't load) or, with `espeak_in_process` False, one process per piece.
    Nothing is loaded until `start()`."""
    espeak_english: Engine = EspeakTTS("en-us", espeak_binary)
    chinese: Engine = EspeakTTS("cmn-latn-pinyin", espeak_binary)
    if espeak_in_process:
        library = EspeakLibrary()
        espeak_english = EspeakLibTTS(library, EspeakTTS("en-us", espeak_binary))
        chinese = EspeakLibTTS(library, EspeakTTS("cmn-latn-pinyin", espeak_binary))
    if english == "espeak":
        return VoiceSet(espeak_english, chinese)
    return VoiceSet(PiperTTS(piper_model, threads=piper_threads), chinese, fallback=espeak_english)

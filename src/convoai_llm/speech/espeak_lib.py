"""espeak-ng kept warm in this process: libespeak-ng (the Debian package's own library) through ctypes.

The command line costs ~13 ms of CPU to start (loading its voice data) for ~3 ms of synthesis, and a
process to schedule on a busy machine; the library, loaded once at start-up, synthesizes a sentence in
3-5 ms. Its output is the command line's (same library, same flags: UTF-8 text, the pause at the end;
only the phase of espeak-ng's pitch flutter carries on from one call to the next),
22 050 Hz mono PCM16, resampled like :class:`~convoai_llm.speech.tts.EspeakTTS`'s.

libespeak-ng keeps one global state per process (voice, callback, buffers) and is not thread-safe:
:class:`EspeakLibrary` owns it, and runs every call on its one worker thread, holding a lock that is as
process-wide as the library itself (a second `EspeakLibrary` in the same process, as tests build,
waits for the first's call to finish). :class:`EspeakLibTTS` is one voice of it, a `TTSEngine` with the
component lifecycle. A synthesis whose caller is cancelled (hang-up) finishes on the worker (a few ms)
and its result is dropped.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

from convoai_llm.errors import TTSFailed, TTSUnavailable
from convoai_llm.speech import words as word_timing
from convoai_llm.speech.pcm import HEADROOM_DB, SAMPLE_RATE, resample
from convoai_llm.speech.tts import EspeakTTS, Synthesis, has_words

log = logging.getLogger("convoai_llm.speech")

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS (samples through the callback)
_RATE = 1  # espeak_PARAMETER: espeakRATE, words per minute
_POS_CHARACTER = 1
_CHARS_UTF8, _END_PAUSE = 0x1, 0x1000  # the command line's flags: UTF-8 text, a pause at the end
_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass
class EspeakLibrary:
    """libespeak-ng loaded once; `synthesize` gives 22 050 Hz PCM16 for text in a voice."""

    name: str = "espeak-ng"
    _lock: ClassVar[threading.Lock] = threading.Lock()  # the C library's state is process-wide
    _lib: ctypes.CDLL | None = field(default=None, init=False, repr=False)
    _rate: int = field(default=0, init=False, repr=False)
    _worker: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _buffer: list[bytes] = field(default_factory=list, init=False, repr=False)
    _callback: object = field(default=None, init=False, repr=False)

    def available(self) -> bool:
        return self._lib is not None

    async def start(self) -> None:
        """Load and initialize the library (once); `TTSUnavailable` when it is not installed."""
        if self._worker is not None:
            return
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="espeak-ng")
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._load)
        except (TTSUnavailable, OSError):
            await self.aclose()
            raise

    async def aclose(self) -> None:
        worker, self._worker, self._lib = self._worker, None, None
        if worker is not None:
            worker.shutdown(wait=False)

    def _load(self) -> None:
        path = ctypes.util.find_library(self.name)
        if path is None:
            raise TTSUnavailable("libespeak-ng is not installed (Debian: apt-get install espeak-ng)")
        lib = ctypes.CDLL(path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]  # fmt: skip

        def collect(wav: ctypes._Pointer[ctypes.c_short], samples: int, events: int | None) -> int:
            if wav and samples > 0:
                self._buffer.append(ctypes.string_at(wav, samples * 2))
            return 0  # go on

        self._callback = _Callback(collect)
        with self._lock:
            self._rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, None, 0)
        if self._rate <= 0:
            raise TTSUnavailable("libespeak-ng could not start (its voice data is missing)")
        self._lib = lib

    async def synthesize(self, text: str, voice: str, words_per_minute: int) -> tuple[bytes, int]:
        """(PCM16 mono, its sample rate) for `text` in `voice`."""
        if self._worker is None:
            raise TTSUnavailable("libespeak-ng is not loaded")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._synthesize, text, voice, words_per_minute)

    def _synthesize(self, text: str, voice: str, words_per_minute: int) -> tuple[bytes, int]:
        lib = self._lib
        if lib is None:
            raise TTSUnavailable("libespeak-ng is not loaded")
        data = text.encode("utf-8")
        with self._lock:
            self._buffer.clear()
            lib.espeak_SetSynthCallback(self._callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TTSUnavailable(f"espeak-ng has no voice {voice!r}")
            lib.espeak_SetParameter(_RATE, words_per_minute, 0)
            status = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _END_PAUSE, None, None)
            pcm = b"".join(self._buffer)
            self._buffer.clear()
        if status != 0:
            raise TTSFailed(f"libespeak-ng failed with status {status}")
        return pcm, self._rate


@dataclass
class EspeakLibTTS:
    """One espeak-ng voice of a shared, warm :class:`EspeakLibrary`; the command line (`process`) when
    the library cannot be loaded (one warning in the log)."""

    library: EspeakLibrary
    process: EspeakTTS

    @property
    def voice(self) -> str | None:
        return self.process.voice

    def available(self) -> bool:
        return self.library.available() or self.process.available()

    async def start(self) -> None:
        try:
            await self.library.start()
        except (TTSUnavailable, OSError) as exc:
            log.warning("libespeak-ng unavailable (%s); speaking %s with the espeak-ng command", exc, self.voice)

    async def ready(self) -> bool:
        return self.available()

    async def aclose(self) -> None:
        await self.library.aclose()

    async def synthesize(self, text: str) -> Synthesis:
        if not self.library.available():
            return await self.process.synthesize(text)
        spoken = " ".join(text.split())
        if not has_words(spoken):
            return Synthesis(b"")
        raw, rate = await self.library.synthesize(spoken, self.voice or "en-us", self.process.words_per_minute)
        pcm = resample(raw, rate, SAMPLE_RATE, peak_db=HEADROOM_DB)
        return Synthesis(pcm, word_timing.estimate(spoken, pcm, SAMPLE_RATE))

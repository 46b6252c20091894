"""Speech for the audio route: sentences → espeak-ng → PCM16 16 kHz mono chunks, or recorded clips.

The route calls :func:`speak` (live speech from provider events), :func:`speak_text` (a known
text, no provider) or :func:`play_clip` (a clip from :class:`ClipLibrary`); `TTSUnavailable`
maps to HTTP 503.
"""

from convoai_llm.errors import TTSFailed, TTSUnavailable
from convoai_llm.speech.clips import Clip, ClipError, ClipLibrary
from convoai_llm.speech.segmenter import Segmenter
from convoai_llm.speech.tts import EspeakTTS, Synthesis, TTSEngine
from convoai_llm.speech.voice import play_clip, speak, speak_text

__all__ = [
    "Clip",
    "ClipError",
    "ClipLibrary",
    "EspeakTTS",
    "Segmenter",
    "Synthesis",
    "TTSEngine",
    "TTSFailed",
    "TTSUnavailable",
    "play_clip",
    "speak",
    "speak_text",
]

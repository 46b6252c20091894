"""Speech for the audio route: sentences → voices → PCM16 16 kHz mono chunks, or recorded clips.

The route calls :func:`speak` (live speech from provider events), :func:`speak_text` (a known
text, no provider) or :func:`play_clip` (a clip from :class:`ClipLibrary`) with the app's
:class:`VoiceSet` (built at start-up by :func:`build_voices`, started, closed at shutdown) as `tts`;
`TTSUnavailable` maps to HTTP 503.
"""

from convoai_llm.errors import TTSFailed, TTSUnavailable
from convoai_llm.speech.clips import Clip, ClipError, ClipLibrary
from convoai_llm.speech.piper import PiperTTS
from convoai_llm.speech.segmenter import Segmenter
from convoai_llm.speech.tts import EspeakTTS, Synthesis, TTSEngine
from convoai_llm.speech.voice import play_clip, speak, speak_text
from convoai_llm.speech.voices import VoiceSet, build_voices

__all__ = [
    "Clip",
    "ClipError",
    "ClipLibrary",
    "EspeakTTS",
    "PiperTTS",
    "Segmenter",
    "Synthesis",
    "TTSEngine",
    "TTSFailed",
    "TTSUnavailable",
    "VoiceSet",
    "build_voices",
    "play_clip",
    "speak",
    "speak_text",
]

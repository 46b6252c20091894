"""Voice, the audio request kind's stage: which source speaks, and the speech transform.

In order:
1. the conversation ends with an assistant turn (greeting, failure message, the speak API) and
   `CONVOAI_SPEAK_ASSISTANT_LAST` is on: that text is synthesized, no LLM call;
2. `CONVOAI_AUDIO_DIR` is set, the mode is `auto`, and a clip matches the last user turn by the clip
   rule (keywords.json, else the `default` clip): the clip is played;
3. otherwise live speech: the provider's answer, cut into sentences and synthesized as it streams.
A missing TTS engine is a `TTSUnavailable` (503) before the first byte, never a silent stream.
With `modalities` including `text`, the text travels as its own deltas too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from convoai_llm.core.plan import Plan
from convoai_llm.errors import TTSUnavailable
from convoai_llm.events import Event, Finish, TextDelta
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.settings import AudioSettings
from convoai_llm.speech import Clip, ClipLibrary, TTSEngine, play_clip, speak, speak_text

Transform = Callable[[AsyncIterator[Event]], AsyncIterator[Event]]


def wants_text(req: ChatRequest) -> bool:
    return req.modalities is not None and "text" in req.modalities


class Voice:
    def __init__(self, settings: AudioSettings, tts: TTSEngine | None, clips: ClipLibrary | None) -> None:
        self.settings = settings
        self.tts = tts
        self.clips = clips

    def engine(self) -> TTSEngine:
        if self.tts is None or not self.tts.available():
            raise TTSUnavailable("No text-to-speech engine is available (install espeak-ng: make setup).")
        return self.tts

    def fixed(self, req: ChatRequest, reply_id: str) -> Plan | None:
        """A reply that needs no LLM (rules 1 and 2), or None for live speech."""
        last = req.messages[-1]
        if self.settings.speak_assistant_last and last.role == "assistant" and last.text().strip():
            events = self._speak(self.engine(), last.text(), reply_id, wants_text(req))
            return Plan(req, "speak", events, source="speak")
        if self.clips is not None and self.settings.mode == "auto":
            user = next((m.text() for m in reversed(req.messages) if m.role == "user"), "")
            clip = self.clips.select(user)
            if clip is not None:
                return Plan(req, f"clip:{clip.name}", self._clip(clip, reply_id, wants_text(req)), source="clip")
        return None

    def live(self, req: ChatRequest, reply_id: str) -> Transform:
        """The transform from the provider's events to speech (checked before the provider opens)."""
        tts = self.engine()
        s = self.settings
        with_text = wants_text(req)

        def to_speech(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
            return speak(
                events, tts, reply_id=reply_id, transcript_first=s.transcript_first, words=s.words,
                include_text=with_text, flush_after_ms=s.flush_after_ms,
            )  # fmt: skip

        return to_speech

    async def _clip(self, clip: Clip, reply_id: str, with_text: bool) -> AsyncIterator[Event]:
        s = self.settings
        if with_text:
            yield TextDelta(clip.transcript)
        async for ev in play_clip(clip, reply_id, realtime=s.realtime, speed=s.speed, words=s.words):
            yield ev
        yield Finish("stop")

    async def _speak(self, tts: TTSEngine, text: str, reply_id: str, with_text: bool) -> AsyncIterator[Event]:
        if with_text:
            yield TextDelta(text)
        async for ev in speak_text(text, tts, reply_id=reply_id, words=self.settings.words):
            if not isinstance(ev, TextDelta):
                yield ev
        yield Finish("stop")

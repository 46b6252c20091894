"""`POST /audio/chat/completions`: transcript, then base64 PCM16 16 kHz mono in `delta.audio`.

Which source speaks, in order:
1. the conversation ends with an assistant turn (greeting, failure message, the speak API) and
   `CONVOAI_SPEAK_ASSISTANT_LAST` is on: that text is synthesized, no LLM call;
2. `CONVOAI_AUDIO_DIR` is set, the mode is `auto`, and a clip matches the last user turn by the
   clip rule (keywords.json, else the `default` clip): the clip is played;
3. otherwise live speech: the provider's answer, cut into sentences and synthesized as it streams.
A missing TTS engine is a 503 before the first byte, never a silent stream.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response

from convoai_llm.api.context import AppContext
from convoai_llm.api.routes import app_context, read_chat_request, request_started, respond
from convoai_llm.core.pipeline import Plan
from convoai_llm.errors import Unavailable
from convoai_llm.events import Event, Finish, TextDelta
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.speech import Clip, ClipLibrary, TTSEngine, play_clip, speak, speak_text

router = APIRouter()
ROUTE = "/audio/chat/completions"


def _tts(ctx: AppContext) -> TTSEngine:
    tts: TTSEngine | None = ctx.extras.get("tts")
    if tts is None or not tts.available():
        raise Unavailable("No text-to-speech engine is available (install espeak-ng: make setup).")
    return tts


async def _clip_events(ctx: AppContext, clip: Clip, reply_id: str, with_text: bool) -> AsyncIterator[Event]:
    s = ctx.settings
    if with_text:
        yield TextDelta(clip.transcript)
    async for ev in play_clip(clip, reply_id, realtime=s.audio_realtime, speed=s.audio_speed, words=s.audio_words):
        yield ev
    yield Finish("stop")


async def _speak_events(tts: TTSEngine, text: str, reply_id: str, with_text: bool, words: bool) -> AsyncIterator[Event]:
    if with_text:
        yield TextDelta(text)
    async for ev in speak_text(text, tts, reply_id=reply_id, words=words):
        if not isinstance(ev, TextDelta):
            yield ev
    yield Finish("stop")


def _last_user_text(req: ChatRequest) -> str:
    return next((m.text() for m in reversed(req.messages) if m.role == "user"), "")


@router.post("/audio/chat/completions")
@router.post("/v1/audio/chat/completions")
async def audio_chat_completions(request: Request) -> Response:
    ctx = app_context(request)
    started = request_started(request)
    req, token = await read_chat_request(request, ctx)
    s = ctx.settings
    reply_id = f"audio_{uuid.uuid4().hex}"
    with_text = req.modalities is not None and "text" in req.modalities

    last = req.messages[-1]
    if s.speak_assistant_last and last.role == "assistant" and last.text().strip():
        plan = Plan(req, "speak", _speak_events(_tts(ctx), last.text(), reply_id, with_text, s.audio_words))
        return await respond(ctx, plan, ROUTE, started)

    clips: ClipLibrary | None = ctx.extras.get("clips")
    if clips is not None and s.audio_mode == "auto":
        clip = clips.select(_last_user_text(req))
        if clip is not None:
            plan = Plan(req, f"clip:{clip.name}", _clip_events(ctx, clip, reply_id, with_text))
            return await respond(ctx, plan, ROUTE, started)

    tts = _tts(ctx)

    def to_speech(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        return speak(
            events, tts, reply_id=reply_id, transcript_first=s.audio_transcript_first,
            words=s.audio_words, include_text=with_text,
        )  # fmt: skip

    plan = await ctx.pipeline.prepare(req, caller_token=token, request_id=reply_id, transform=to_speech)
    return await respond(ctx, plan, ROUTE, started)

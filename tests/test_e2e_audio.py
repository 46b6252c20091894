"""`/audio/chat/completions` end to end: clips, live espeak-ng speech, speak-the-assistant, hang-up."""

from __future__ import annotations

import base64
import shutil
import time
import wave
from pathlib import Path

import httpx
import orjson
import pytest

from convoai_llm.events import Finish, Started, TextDelta
from convoai_llm.providers.scripted import ScriptedProvider, Sleep
from tests.conftest import ServeFn

AUDIO_DIR = Path(__file__).resolve().parents[1] / "examples" / "audio"
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def stream_audio(url: str, body: dict[str, object]) -> tuple[list[tuple[float, dict[str, object]]], float]:
    sent = time.monotonic()
    out: list[tuple[float, dict[str, object]]] = []
    with httpx.stream("POST", url + "/v1/audio/chat/completions", json={**body, "stream": True}, timeout=30) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line == "data: [DONE]":
                break
            if line.startswith("data: "):
                out.append((time.monotonic(), orjson.loads(line[6:])))
    return out, sent


def deltas(chunks: list[tuple[float, dict[str, object]]]) -> list[dict[str, object]]:
    return [c["choices"][0]["delta"] for _, c in chunks if c.get("choices")]  # type: ignore[index]


def pcm_of(chunks: list[tuple[float, dict[str, object]]]) -> bytes:
    return b"".join(base64.b64decode(d["audio"]["data"]) for d in deltas(chunks) if "data" in d.get("audio", {}))  # type: ignore[index,operator]


def test_clip_transcript_then_exact_pcm(serve: ServeFn) -> None:
    scripted = ScriptedProvider()
    server = serve(provider=scripted, audio_dir=AUDIO_DIR, audio_realtime=False)
    chunks, _ = stream_audio(server.url, {"messages": [{"role": "user", "content": "Hi there"}]})
    ds = deltas(chunks)
    audio = [d["audio"] for d in ds if "audio" in d]
    assert audio[0] == {"id": audio[0]["id"], "transcript": "Hello from convoai-llm."}  # type: ignore[index]
    assert all("data" in a for a in audio[1:]) and len({a["id"] for a in audio}) == 1  # type: ignore[index]
    assert pcm_of(chunks) == (AUDIO_DIR / "default.pcm").read_bytes()
    sizes = [len(base64.b64decode(a["data"])) for a in audio[1:]]  # type: ignore[index]
    assert all(s == 1280 for s in sizes[:-1]) and 0 < sizes[-1] <= 1280
    assert ds[-1] == {} and chunks[-1][1]["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
    assert scripted.history == []  # a clip answers without the LLM


@needs_espeak
def test_live_speech_starts_before_the_answer_is_complete(serve: ServeFn, tmp_path: Path) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue([Started("scripted"), TextDelta("The first sentence is here. "), Sleep(1.5),
                      TextDelta("The second one came later."), Finish("stop")])  # fmt: skip
    server = serve(provider=scripted, audio_mode="live")
    chunks, sent = stream_audio(server.url, {"messages": [{"role": "user", "content": "Talk"}]})
    audio = [
        (t, c["choices"][0]["delta"]["audio"])
        for t, c in chunks
        if c.get("choices") and "audio" in c["choices"][0]["delta"]
    ]  # type: ignore[index,operator]
    first_data = next(t for t, a in audio if "data" in a)
    assert first_data - sent < 1.2, "the first sentence's audio waited for the whole answer"
    transcripts = "".join(a["transcript"] for _, a in audio if "transcript" in a)
    assert transcripts.split() == ["The", "first", "sentence", "is", "here.", "The", "second", "one", "came", "later."]
    pcm = pcm_of(chunks)
    path = tmp_path / "reply.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    with wave.open(str(path), "rb") as r:
        assert (r.getnchannels(), r.getsampwidth(), r.getframerate()) == (1, 2, 16000)
        seconds = r.getnframes() / 16000
    assert 2.0 < seconds < 10.0  # ten words of speech
    assert not any(c["choices"][0]["delta"].get("content") for _, c in chunks[1:] if c.get("choices"))  # type: ignore[index]


@needs_espeak
def test_text_and_audio_modalities_and_assistant_last(serve: ServeFn) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue_text("Sure. ", "It is done.")
    server = serve(provider=scripted, audio_mode="live")
    body = {"messages": [{"role": "user", "content": "Do it"}], "modalities": ["text", "audio"]}
    chunks, _ = stream_audio(server.url, body)
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "Sure. It is done."  # type: ignore[misc]
    assert pcm_of(chunks)
    greeting = {"messages": [{"role": "system", "content": "x"}, {"role": "assistant", "content": "Welcome back!"}]}
    before = len(scripted.history)
    chunks, _ = stream_audio(server.url, greeting)
    assert len(scripted.history) == before  # spoken without calling the LLM
    transcript = [d["audio"]["transcript"] for d in deltas(chunks) if "transcript" in d.get("audio", {})]  # type: ignore[index,operator]
    assert "".join(transcript).strip() == "Welcome back!" and len(pcm_of(chunks)) > 16000


@needs_espeak
def test_hangup_mid_speech_leaves_no_tts_process(serve: ServeFn) -> None:
    scripted = ScriptedProvider()
    long = [TextDelta(f"This is sentence number {i} of a long answer. ") for i in range(40)]
    scripted.enqueue([Started("s"), *long, Finish("stop")])
    server = serve(provider=scripted, audio_mode="live", audio_realtime=True)
    before = set(_espeak_children())  # other tests' servers may still be finishing theirs
    with httpx.stream("POST", server.url + "/audio/chat/completions",
                      json={"messages": [{"role": "user", "content": "Go"}], "stream": True}) as r:  # fmt: skip
        for line in r.iter_lines():
            if '"data":"' in line:
                break
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and set(_espeak_children()) - before:
        time.sleep(0.05)
    assert set(_espeak_children()) - before == set()
    while time.monotonic() < deadline and scripted.closed == 0:
        time.sleep(0.05)
    assert scripted.closed == 1, "the provider stream was not closed"


def _espeak_children() -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(espeak-ng)" in text and " Z " not in text:
            found.append(int(stat.parent.name))
    return found


def test_missing_tts_is_503(serve: ServeFn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("convoai_llm.speech.tts.shutil.which", lambda _: None)  # no command line
    monkeypatch.setattr("convoai_llm.speech.espeak_lib.ctypes.util.find_library", lambda _: None)  # no library
    server = serve(provider=ScriptedProvider(), audio_mode="live")
    resp = httpx.post(server.url + "/audio/chat/completions", json={"messages": [{"role": "user", "content": "x"}],
                                                                     "stream": True})  # fmt: skip
    assert resp.status_code == 503 and "espeak-ng" in resp.json()["error"]["message"]


@needs_espeak
def test_subtitle_words_follow_the_audio(serve: ServeFn) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue_text("Good morning to you. ", "The weather is fine today.")
    server = serve(provider=scripted, audio_mode="live", audio_words=True)
    chunks, _ = stream_audio(server.url, {"messages": [{"role": "user", "content": "Hi"}]})
    audio = [d["audio"] for d in deltas(chunks) if "audio" in d]
    words = [w for a in audio for w in a.get("words", [])]  # type: ignore[union-attr]
    transcript = "".join(a["transcript"] for a in audio if "transcript" in a)  # type: ignore[index,operator]
    total_ms = len(pcm_of(chunks)) / 32
    assert [w["text"] for w in words] == transcript.split()
    starts = [w["start_ts"] for w in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for w in words:
        assert 0 <= w["start_ts"] < w["end_ts"] <= total_ms + 1
        assert w["duration"] == w["end_ts"] - w["start_ts"]


@needs_espeak
def test_markdown_and_emoji_never_reach_the_transcript_or_the_voice(serve: ServeFn) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue(
        [Started("scripted"), TextDelta("## Plan\n**Sure!** The word 你好 means hello 😊."), Finish("stop")]
    )
    server = serve(provider=scripted, audio_mode="live")
    chunks, _ = stream_audio(server.url, {"messages": [{"role": "user", "content": "What does 你好 mean?"}]})
    transcripts = [d["audio"]["transcript"] for d in deltas(chunks) if "transcript" in d.get("audio", {})]  # type: ignore[index,operator]
    assert "".join(transcripts) == "Plan Sure! The word 你好 means hello."  # "Plan" alone is too short to send
    seconds = len(pcm_of(chunks)) / 32_000
    assert 2.0 < seconds < 8.0, seconds  # the words, not the markup or the emoji's name

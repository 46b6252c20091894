"""PCM16 audio in the engine's format: little-endian signed 16-bit, 16 000 Hz, mono (pure).

- :func:`resample` converts any rate to 16 000 Hz with libsoxr (the `soxr` package: SoX's resampler,
  "HQ" quality, flat to ~7.6 kHz at 16 kHz out), with an optional gain and peak limit; speech from the
  TTS is limited to -1 dBFS (espeak-ng drives a few samples to full scale, Piper normalizes to it) and
  otherwise passed as the engine made it: a gain on every piece changed what the recognizer heard.
- :func:`chunks` cuts PCM into exact 1 280-byte (40 ms) chunks. **Last-chunk rule: the last chunk
  is short, never padded** (any even length from 2 to 1 280 bytes; an empty input gives no chunk).
  Padding would add silence the caller hears as a gap and would make the decoded stream differ from
  the clip file; Agora's sample also sends the file's tail as it is. Within one live reply,
  :class:`~convoai_llm.speech.voice` carries the remainder over to the next sentence, so only the
  reply's final chunk can be short.
- WAV helpers read files with the `wave` module, and the WAV stream espeak-ng writes to a pipe
  (whose RIFF sizes are placeholders) with a small chunk parser.
"""

from __future__ import annotations

import base64
import io
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2
CHUNK_BYTES = 1_280  # 40 ms at 16 kHz, 16-bit mono
BYTES_PER_MS = SAMPLE_RATE * SAMPLE_WIDTH // 1000  # 32
HEADROOM_DB = -1.0

Int16Array = npt.NDArray[np.int16]


class AudioFormatError(ValueError):
    """Audio that cannot be read or is not PCM."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded interleaved-to-mono audio: `pcm` is PCM16 LE mono at `rate` Hz."""

    pcm: bytes
    rate: int


def duration_ms(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    return len(pcm) / SAMPLE_WIDTH / rate * 1000.0


def chunks(pcm: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Exact `size`-byte chunks; the last one is short (not padded). Raises on an odd length."""
    if len(pcm) % SAMPLE_WIDTH:
        raise AudioFormatError(f"PCM16 needs an even number of bytes, got {len(pcm)}")
    if size <= 0 or size % SAMPLE_WIDTH:
        raise ValueError(f"chunk size must be a positive even number, got {size}")
    view = memoryview(pcm)
    return [bytes(view[i : i + size]) for i in range(0, len(pcm), size)]


def b64(chunk: bytes) -> str:
    return base64.b64encode(chunk).decode("ascii")


def unb64(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


def b64_chunks(pcm: bytes, size: int = CHUNK_BYTES) -> list[str]:
    return [b64(c) for c in chunks(pcm, size)]


def resample(
    pcm: bytes, src_rate: int, dst_rate: int = SAMPLE_RATE, *, gain_db: float = 0.0, peak_db: float | None = None
) -> bytes:
    """PCM16 mono from `src_rate` to `dst_rate` (libsoxr, HQ); output length is round(n * dst / src) samples.

    With `peak_db`, audio whose peak (after resampling) is above that level is scaled down to it, and
    audio below it is left as it is. Samples are clipped to the int16 range after the gain. Same rate,
    0 dB and no peak limit returns the input.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if len(pcm) % SAMPLE_WIDTH:
        raise AudioFormatError(f"PCM16 needs an even number of bytes, got {len(pcm)}")
    if src_rate == dst_rate and gain_db == 0.0 and peak_db is None:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if x.size == 0:
        return b""
    if src_rate != dst_rate:
        x = soxr.resample(x, src_rate, dst_rate, quality="HQ")
        n_out = round(pcm_samples(pcm) * dst_rate / src_rate)
        x = x[:n_out] if x.size >= n_out else np.pad(x, (0, n_out - x.size))
    if gain_db:
        x = x * np.float32(10.0 ** (gain_db / 20.0))
    if peak_db is not None:
        limit, top = 32767 * 10.0 ** (peak_db / 20.0), float(np.abs(x).max())
        x = x * np.float32(limit / top) if top > limit else x
    out: Int16Array = np.clip(np.rint(x), -32768, 32767).astype("<i2")
    return out.tobytes()


def pcm_samples(pcm: bytes) -> int:
    return len(pcm) // SAMPLE_WIDTH


def to_mono16(frames: bytes, sample_width: int, channels: int) -> bytes:
    """Interleaved PCM of 8/16/24/32-bit samples to 16-bit mono (channels averaged)."""
    if sample_width == 1:
        x = np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128 << 8
    elif sample_width == 2:
        x = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    elif sample_width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        x = (raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16) << 8 >> 16  # sign-extend, keep 16 bits
    elif sample_width == 4:
        x = np.frombuffer(frames, dtype="<i4").astype(np.int32) >> 16
    else:
        raise AudioFormatError(f"unsupported sample width {sample_width}")
    if channels > 1:
        x = x[: x.size - x.size % channels].reshape(-1, channels).mean(axis=1).astype(np.int32)
    mono: Int16Array = np.clip(x, -32768, 32767).astype("<i2")
    return mono.tobytes()


def read_wav(source: Path | bytes) -> Audio:
    """A WAV file (path or bytes) as 16-bit mono at its own rate."""
    try:
        with wave.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), "rb") as w:
            if w.getcomptype() != "NONE":
                raise AudioFormatError("compressed WAV is not supported")
            frames = w.readframes(w.getnframes())
            return Audio(to_mono16(frames, w.getsampwidth(), w.getnchannels()), w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"not a PCM WAV file: {exc}") from exc


def read_wav_stream(data: bytes) -> Audio:
    """A WAV written to a pipe (RIFF/data sizes are placeholders): data runs to the end of input."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError("not a RIFF/WAVE stream")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if tag == b"fmt ":
            audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (audio_format, channels, rate, bits)
        elif tag == b"data":
            if fmt is None:
                raise AudioFormatError("WAV data chunk before its fmt chunk")
            audio_format, channels, rate, bits = fmt
            if audio_format != 1:
                raise AudioFormatError(f"WAV format {audio_format} is not PCM")
            end = min(len(data), body + size)
            frame = channels * bits // 8
            frames = data[body : end - (end - body) % frame]
            return Audio(to_mono16(frames, bits // 8, channels), rate)
        pos = body + size + (size & 1)
    raise AudioFormatError("WAV stream has no data chunk")


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """PCM16 mono to a WAV file (handy for tests and for listening to a reply)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(pcm)


def to_engine_pcm(audio: Audio, *, gain_db: float = 0.0, peak_db: float | None = None) -> bytes:
    """Any decoded audio to the engine's PCM16 16 kHz mono."""
    return resample(audio.pcm, audio.rate, SAMPLE_RATE, gain_db=gain_db, peak_db=peak_db)


def peak(pcm: bytes) -> int:
    """Largest absolute sample value (0 for empty input)."""
    if not pcm:
        return 0
    return int(np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32)).max())


def trim(pcm: bytes, *, lead_ms: float, tail_ms: float, threshold: int = 328, rate: int = SAMPLE_RATE) -> bytes:
    """`pcm` with its leading/trailing silence (below `threshold`, default -40 dBFS) cut to at most
    `lead_ms`/`tail_ms`; all-silent input gives b"" (silence is never sent as speech)."""
    x = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.flatnonzero(x > threshold)
    if loud.size == 0:
        return b""
    start = max(0, int(loud[0]) - round(lead_ms * rate / 1000))
    end = min(x.size, int(loud[-1]) + 1 + round(tail_ms * rate / 1000))
    return pcm[start * SAMPLE_WIDTH : end * SAMPLE_WIDTH]

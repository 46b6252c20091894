from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from convoai_llm.speech import pcm


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def dominant_hz(data: bytes, rate: int) -> float:
    x = samples(data)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("n_bytes", [0, 2, 1278, 1280, 1282, 2560, 12_800 * 3 + 640])
def test_chunks_are_exact_and_the_last_is_short(n_bytes: int) -> None:
    data = bytes(range(256)) * (n_bytes // 256) + bytes(n_bytes % 256)
    parts = pcm.chunks(data)
    assert b"".join(parts) == data
    assert all(len(p) == pcm.CHUNK_BYTES for p in parts[:-1])
    if n_bytes:
        last = n_bytes % pcm.CHUNK_BYTES or pcm.CHUNK_BYTES
        assert len(parts[-1]) == last  # short, never padded
        assert len(parts) == -(-n_bytes // pcm.CHUNK_BYTES)
    else:
        assert parts == []


def test_chunk_is_40_ms() -> None:
    assert pcm.CHUNK_BYTES == 1280
    assert pcm.duration_ms(bytes(pcm.CHUNK_BYTES)) == 40.0


def test_odd_length_is_rejected() -> None:
    with pytest.raises(pcm.AudioFormatError):
        pcm.chunks(b"\x00\x01\x02")
    with pytest.raises(ValueError):
        pcm.chunks(b"\x00\x00", size=3)


def test_base64_round_trip() -> None:
    data = tone(440, 16_000, 0.2)
    encoded = pcm.b64_chunks(data)
    assert all(isinstance(e, str) and e.isascii() for e in encoded)
    assert len(encoded[0]) == 1708  # 1280 bytes → 4 * ceil(1280 / 3) characters
    assert b"".join(pcm.unb64(e) for e in encoded) == data
    with pytest.raises(ValueError):
        pcm.unb64("not base64!")


@pytest.mark.parametrize("src_rate", [8_000, 11_025, 22_050, 24_000, 44_100, 48_000])
@pytest.mark.parametrize("n_samples", [1, 100, 22_050, 33_333])
def test_resample_length(src_rate: int, n_samples: int) -> None:
    data = bytes(2 * n_samples)
    out = pcm.resample(data, src_rate, 16_000)
    assert len(out) == 2 * round(n_samples * 16_000 / src_rate)


def test_resample_same_rate_is_identity_and_empty_stays_empty() -> None:
    data = tone(300, 16_000, 0.1)
    assert pcm.resample(data, 16_000, 16_000) == data
    assert pcm.resample(b"", 22_050) == b""


def test_resample_keeps_pitch_and_applies_headroom() -> None:
    data = tone(440, 22_050, 1.0, amplitude=1.0)
    out = pcm.resample(data, 22_050, 16_000, gain_db=pcm.HEADROOM_DB)
    assert abs(dominant_hz(out, 16_000) - 440) < 2
    peak = pcm.peak(out)
    assert 0.87 * 32767 < peak <= round(10 ** (-1 / 20) * 32767) + 1  # -1 dBFS, no clipping


def test_peak_limit_scales_only_loud_audio() -> None:
    loud = tone(440, 22_050, 1.0, amplitude=1.0)
    out = pcm.resample(loud, 22_050, 16_000, peak_db=pcm.HEADROOM_DB)
    assert round(10 ** (-1 / 20) * 32767) - 2 <= pcm.peak(out) <= round(10 ** (-1 / 20) * 32767) + 1
    quiet = tone(440, 22_050, 1.0, amplitude=0.5)  # -6 dBFS: passed as the engine made it, only resampled
    assert pcm.resample(quiet, 22_050, 16_000, peak_db=pcm.HEADROOM_DB) == pcm.resample(quiet, 22_050, 16_000)
    assert pcm.resample(quiet, 16_000, 16_000, peak_db=pcm.HEADROOM_DB) == quiet


def test_resample_filters_what_16_khz_cannot_hold() -> None:
    high = tone(10_000, 44_100, 0.5)  # above the 8 kHz Nyquist of the output: would alias to 6 kHz
    out = pcm.resample(high, 44_100, 16_000)
    assert np.sqrt(np.mean(samples(out) ** 2)) < 0.05 * np.sqrt(np.mean(samples(high) ** 2))


def test_upsampling_keeps_pitch() -> None:
    out = pcm.resample(tone(1_000, 8_000, 0.5), 8_000, 16_000)
    assert abs(dominant_hz(out, 16_000) - 1_000) < 4


def test_to_mono16_widths_and_channels() -> None:
    stereo = struct.pack("<4h", 1000, 3000, -2000, -4000)
    assert pcm.to_mono16(stereo, 2, 2) == struct.pack("<2h", 2000, -3000)
    assert pcm.to_mono16(bytes([128, 255, 0]), 1, 1) == struct.pack("<3h", 0, 127 << 8, -128 << 8)
    s24 = (1000 << 8).to_bytes(3, "little", signed=True) + (-1000 << 8).to_bytes(3, "little", signed=True)
    assert pcm.to_mono16(s24, 3, 1) == struct.pack("<2h", 1000, -1000)
    assert pcm.to_mono16(struct.pack("<2i", 1000 << 16, -1000 << 16), 4, 1) == struct.pack("<2h", 1000, -1000)
    with pytest.raises(pcm.AudioFormatError):
        pcm.to_mono16(b"\x00" * 5, 5, 1)


def test_wav_write_and_read_back(tmp_path: Path) -> None:
    data = tone(440, 16_000, 0.25)
    path = tmp_path / "out.wav"
    pcm.write_wav(path, data)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
        assert w.getnframes() == len(data) // 2
    audio = pcm.read_wav(path)
    assert audio == pcm.Audio(data, 16_000)
    assert pcm.read_wav(path.read_bytes()) == audio


def test_read_wav_converts_stereo_8khz(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8_000)
        w.writeframes(struct.pack("<8000h", *([1000, 3000] * 4000)))
    audio = pcm.read_wav(buf.getvalue())
    assert audio.rate == 8_000 and len(audio.pcm) == 8_000
    out = pcm.to_engine_pcm(audio)
    assert len(out) == 16_000
    assert np.allclose(samples(out)[100:-100], 2000, atol=2)


def test_read_wav_rejects_garbage() -> None:
    with pytest.raises(pcm.AudioFormatError):
        pcm.read_wav(b"definitely not a wav file")


def streamed_wav(data: bytes, rate: int = 22_050) -> bytes:
    """What espeak-ng writes to a pipe: RIFF and data sizes are placeholders."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0x7FFFF024)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", 0x7FFFF000) + data)
    )


def test_read_wav_stream_with_placeholder_sizes() -> None:
    data = tone(440, 22_050, 0.3)
    audio = pcm.read_wav_stream(streamed_wav(data))
    assert audio == pcm.Audio(data, 22_050)
    assert pcm.read_wav_stream(streamed_wav(data + b"\x01")).pcm == data  # partial frame dropped
    with pytest.raises(pcm.AudioFormatError):
        pcm.read_wav_stream(b"RIFF\x00\x00\x00\x00WAVE")
    with pytest.raises(pcm.AudioFormatError):
        pcm.read_wav_stream(b"garbage")


@pytest.mark.parametrize("hz", [1_000, 4_000, 6_000, 7_000, 7_500])
def test_resample_keeps_the_top_of_the_speech_band(hz: int) -> None:
    """22.05 → 16 kHz is flat to 7.5 kHz (the hand-written filter lost 2.1 dB at 6 kHz, 7.3 dB at 7.5 kHz)."""
    data = tone(hz, 22_050, 1.0, amplitude=0.5)
    out = samples(pcm.resample(data, 22_050, 16_000))[2_000:-2_000]
    level = np.sqrt(np.mean(out**2)) / (0.5 * 32767 / np.sqrt(2))
    assert 20 * np.log10(level) > -0.5


def test_trim_keeps_bounded_silence_and_drops_silent_audio() -> None:
    speech = tone(440, 16_000, 0.5, amplitude=0.5)
    padded = bytes(16_000) + speech + bytes(32_000)  # 0.5 s before, 1 s after
    out = pcm.trim(padded, lead_ms=20, tail_ms=100)
    assert abs(pcm.duration_ms(out) - (500 + 20 + 100)) < 2
    assert speech[200:-200] in out
    assert pcm.trim(bytes(3_200), lead_ms=20, tail_ms=100) == b""

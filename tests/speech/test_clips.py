# ruff: noqa: RUF001  (Chinese punctuation in test texts)
from __future__ import annotations

import json
import struct
import wave
from pathlib import Path

import pytest

from convoai_llm.speech.clips import Clip, ClipError, ClipLibrary
from convoai_llm.speech.pcm import duration_ms, unb64
from convoai_llm.speech.voice import play_clip

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio"
PCM = struct.pack("<640h", *range(-320, 320))  # 40 ms


def make_dir(root: Path, keywords: dict[str, str] | None = None) -> Path:
    (root / "default.txt").write_text("Hello, this is the default answer.\n")
    (root / "default.pcm").write_bytes(PCM)
    (root / "hours.txt").write_text("We are open from nine to five.")
    with wave.open(str(root / "hours.wav"), "wb") as w:  # 8 kHz stereo: converted on load
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8_000)
        w.writeframes(struct.pack("<1600h", *([1000, 3000] * 800)))
    (root / "price.txt").write_text("It costs ten dollars.")
    (root / "price.pcm").write_bytes(PCM * 2)
    if keywords is not None:
        (root / "keywords.json").write_text(json.dumps(keywords, ensure_ascii=False))
    return root


KEYWORDS = {"open": "hours", "opening hours": "hours", "price": "price", "营业时间": "hours"}


def test_load_pairs_and_convert_wav(tmp_path: Path) -> None:
    lib = ClipLibrary.load(make_dir(tmp_path))
    assert lib.names == ["default", "hours", "price"]
    default = lib.get("default")
    assert default == Clip("default", "Hello, this is the default answer.", PCM)
    hours = lib.get("hours")
    assert hours is not None and len(hours.pcm) == 1600 * 2  # 800 frames at 8 kHz → 1600 at 16 kHz
    assert duration_ms(hours.pcm) == 100.0


def test_selection_rule(tmp_path: Path) -> None:
    lib = ClipLibrary.load(make_dir(tmp_path, KEYWORDS))

    def pick(text: str) -> str | None:
        clip = lib.select(text)
        return clip.name if clip else None

    assert pick("When are you OPEN tomorrow?") == "hours"
    assert pick("What is the price?") == "price"
    assert pick("Is the price open to negotiation?") == "price"  # "price" is longer than "open"
    assert pick("What are your opening hours?") == "hours"
    assert pick("请问营业时间是几点？") == "hours"
    assert pick("Where is the can opener?") == "default"  # whole words only for ASCII keywords
    assert pick("Something else entirely") == "default"


def test_no_default_means_live_speech(tmp_path: Path) -> None:
    make_dir(tmp_path, KEYWORDS)
    (tmp_path / "default.txt").unlink()
    lib = ClipLibrary.load(tmp_path)
    assert lib.get("default") is None
    assert lib.select("anything") is None
    assert lib.select("open?") is not None


@pytest.mark.parametrize(
    "name", ["../default", "default.pcm", "/etc/passwd", "..", "", "hours/../default", "DEFAULT", "default\x00"]
)
def test_names_only_resolve_within_the_loaded_set(tmp_path: Path, name: str) -> None:
    lib = ClipLibrary.load(make_dir(tmp_path))
    assert lib.get(name) is None


def test_paths_in_the_text_select_nothing_special(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x.txt").write_text("secret")
    (secret / "x.pcm").write_bytes(PCM)
    clips = tmp_path / "clips"
    clips.mkdir()
    lib = ClipLibrary.load(make_dir(clips))
    assert lib.get("../secret/x") is None
    clip = lib.select("../secret/x")
    assert clip is not None and clip.name == "default"


def test_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pcm"
    outside.write_bytes(PCM)
    clips = tmp_path / "clips"
    clips.mkdir()
    make_dir(clips)
    (clips / "leak.txt").write_text("leak")
    (clips / "leak.pcm").symlink_to(outside)
    with pytest.raises(ClipError, match="outside"):
        ClipLibrary.load(clips)


def test_badly_named_files_are_ignored(tmp_path: Path) -> None:
    make_dir(tmp_path)
    (tmp_path / "has space.txt").write_text("x")
    (tmp_path / "has space.pcm").write_bytes(PCM)
    (tmp_path / "orphan.txt").write_text("no audio for me")
    assert ClipLibrary.load(tmp_path).names == ["default", "hours", "price"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "keywords.json").write_text('{"hello": "nope"}'), "unknown clip"),
        (lambda d: (d / "keywords.json").write_text("[1, 2]"), "must map"),
        (lambda d: (d / "keywords.json").write_text("{not json"), "keywords.json"),
        (lambda d: (d / "price.pcm").write_bytes(b"\x00\x01\x02"), "odd length"),
        (lambda d: (d / "price.pcm").write_bytes(b""), "no audio"),
        (lambda d: (d / "price.txt").write_text("  \n"), "empty"),
        (lambda d: (d / "hours.wav").write_bytes(b"not a wav"), "hours.wav"),
    ],
)
def test_bad_directories_fail_loudly(tmp_path: Path, mutate: object, message: str) -> None:
    make_dir(tmp_path)
    mutate(tmp_path)  # type: ignore[operator]
    with pytest.raises(ClipError, match=message):
        ClipLibrary.load(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match="does not exist"):
        ClipLibrary.load(tmp_path / "nope")


async def test_shipped_examples_load_and_play_back_exactly() -> None:
    lib = ClipLibrary.load(EXAMPLES)
    assert {"default", "hours"} <= set(lib.names)
    assert lib.select("Are you open on Sunday?") is lib.get("hours")
    default = lib.select("hi")
    assert default is not None and default.name == "default"
    assert default.pcm == (EXAMPLES / "default.pcm").read_bytes()
    assert 800 < default.duration_ms < 4000
    events = [e async for e in play_clip(default, "chatcmpl-x", realtime=False)]
    assert events[0].transcript == (EXAMPLES / "default.txt").read_text().strip()
    assert b"".join(unb64(e.data) for e in events if e.data) == default.pcm

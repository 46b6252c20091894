"""The app's OpenAPI document, with the chat request body the routes parse by hand (for clients and fuzzers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from convoai_llm.schemas.request import ChatRequest

CHAT_PATHS = ("chat/completions", "rag/chat/completions", "audio/chat/completions")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["ChatRequest"] = schema
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}},
    }
    for path, item in doc.get("paths", {}).items():
        if path.lstrip("/").removeprefix("v1/") in CHAT_PATHS and "post" in item:
            item["post"]["requestBody"] = body
    app.openapi_schema = doc
    return doc

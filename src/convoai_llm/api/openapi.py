"""The app's OpenAPI document, with the chat request body the routes parse by hand (for clients and fuzzers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from convoai_llm.api.routespec import ROUTES
from convoai_llm.schemas.request import ChatRequest


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
    paths = doc.get("paths", {})
    for spec in ROUTES:
        for path in spec.paths:
            if "post" in paths.get(path, {}) and spec.schema == "ChatRequest":
                paths[path]["post"]["requestBody"] = body
    app.openapi_schema = doc
    return doc

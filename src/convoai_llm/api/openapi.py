"""The app's OpenAPI document, with the request bodies the completion routes parse by hand (for clients and
fuzzers): each `RouteSpec.schema` names its model here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from convoai_llm.api.routespec import ROUTES
from convoai_llm.schemas.completions import CompletionRequest
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.responses import ResponsesRequest

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "ChatRequest": ChatRequest,
    "ResponsesRequest": ResponsesRequest,
    "CompletionRequest": CompletionRequest,
}
"""`RouteSpec.schema` → the model its parser validates (the request body in the document)."""


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, model in REQUEST_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    paths = doc.get("paths", {})
    for spec in ROUTES:
        body = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.schema}"}}},
        }
        for path in spec.paths:
            if "post" in paths.get(path, {}):
                paths[path]["post"]["requestBody"] = body
    app.openapi_schema = doc
    return doc

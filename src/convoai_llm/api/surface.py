"""Small routes other clients expect: one model by id, and Agora's `/ping`.

- `GET /v1/models/{id}` (and `/models/{id}`): the model object, or 404 `model_not_found` (auth as for
  `/v1/models`). An id may hold slashes (`org/model`).
- `GET /ping` → `{"message": "pong"}` (Agora's sample), no auth, like `/healthz`.
The Responses API and legacy completions are completion routes: see `api/routespec.py`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from convoai_llm.api.errors import json_response
from convoai_llm.api.routes import app_context
from convoai_llm.errors import ModelNotFound
from convoai_llm.schemas.response import models_body

router = APIRouter()


@router.get("/ping")
async def ping() -> Response:
    return json_response({"message": "pong"})


@router.get("/models/{model_id:path}")
@router.get("/v1/models/{model_id:path}")
async def get_model(request: Request, model_id: str) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    if model_id not in ctx.services.router.models():
        raise ModelNotFound(f"The model `{model_id[:128]}` does not exist.", param="model")
    return json_response(models_body([model_id])["data"][0])

"""``/api/v1/models``: the model registry, read-only (the JSON twins of the UI's model pages).

Registered models, their versions (signature, metrics, lineage), aliases and audit trail,
whose ``alias.promoted`` events carry the promotion gates' outcomes. Any signed-in user may
read them. Changes go through the library or ``shipyard models`` on the server host.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field

from shipyard.entities.registry import AuditEvent, Lineage, ModelAlias, RegisteredModel
from shipyard.registry import RegistryService
from shipyard.server.deps import Caller, state
from shipyard.server.routes._common import api_router, respond
from shipyard.server.schemas import WireFloat

router = api_router("models")


class ModelPage(BaseModel):
    models: list[RegisteredModel]
    next_page_token: str | None = None


class ModelVersionOut(BaseModel):
    """A `shipyard.ModelVersion` (metrics may be ``"NaN"``/``"Infinity"``)."""

    name: str
    version: int
    run_id: str | None
    artifact_path: str
    flavor: str
    signature: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, WireFloat] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    status: str
    lineage: Lineage
    created_at: datetime
    created_by: str | None = None
    deleted_at: datetime | None = None
    aliases: list[str] = Field(default_factory=list)


def registry(request: Request) -> RegistryService:
    return state(request).client.registry  # type: ignore[no-any-return]


@router.get("/models", response_model=ModelPage)
def list_models(request: Request, _: Caller,
                max_results: Annotated[int, Query(ge=1, le=1000)] = 100,
                page_token: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    """Registered models by name, a page at a time (follow ``next_page_token``)."""
    page = registry(request).list_registered_models(max_results=max_results,
                                                    page_token=page_token)
    return respond({"models": page.items, "next_page_token": page.next_page_token})


@router.get("/models/{name}", response_model=RegisteredModel)
def get_model(name: str, request: Request, _: Caller) -> Response:
    """One model with its aliases and latest version."""
    return respond(registry(request).get_registered_model(name))


@router.get("/models/{name}/versions", response_model=list[ModelVersionOut])
def list_versions(name: str, request: Request, _: Caller,
                  include_deleted: bool = False) -> Response:
    """The model's versions by number."""
    return respond(registry(request).list_model_versions(name,
                                                         include_deleted=include_deleted))


@router.get("/models/{name}/versions/{version}", response_model=ModelVersionOut)
def get_version(name: str, version: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
                _: Caller) -> Response:
    """One version: signature, metrics at registration, lineage, aliases."""
    return respond(registry(request).get_model_version(name, version))


@router.get("/models/{name}/aliases", response_model=list[ModelAlias])
def list_aliases(name: str, request: Request, _: Caller) -> Response:
    """The model's aliases (name, version, revision, who moved it last)."""
    return respond(registry(request).list_aliases(name))


@router.get("/models/{name}/history", response_model=list[AuditEvent])
def history(name: str, request: Request, _: Caller,
            max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
    """Every audited change of the model, oldest first; ``alias.promoted`` events hold the
    promotion gates (``detail.rules``) and their outcome."""
    return respond(registry(request).history(name, max_results=max_results))

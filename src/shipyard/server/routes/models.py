"""``/api/v1/models``: the model registry (reads are the JSON twins of the UI's model pages).

Registered models, their versions (signature, metrics, lineage), aliases and audit trail.
Viewers read; editors register, describe, tag, move aliases, promote and soft-delete; admins
delete for good. Every change goes through the server's `RegistryService`, which audits it
with the authenticated caller (``anonymous`` when auth is off): an actor is never taken from
the request. Writes live in ``model_changes.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field

from shipyard.entities.registry import AuditEvent, Lineage, ModelAlias, RegisteredModel
from shipyard.registry import RegistryService
from shipyard.server._visibility import redact_events, redact_version
from shipyard.server.deps import Caller, state
from shipyard.server.routes._common import api_router, respond
from shipyard.server.schemas import INT64, WireFloat

router = api_router("models")
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version number.")]
NamePath = Annotated[str, Path(max_length=250, description="The registered model's name.")]
AliasPath = Annotated[str, Path(max_length=250, description="The alias, e.g. champion.")]


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
                page_token: Annotated[str | None, Query(max_length=1000)] = None,
                offset: Annotated[int | None, Query(ge=0, le=INT64)] = None) -> Response:
    """Registered models by name, a page at a time (follow ``next_page_token``, or skip
    ``offset`` models)."""
    page = registry(request).list_registered_models(max_results=max_results,
                                                    page_token=page_token, offset=offset)
    return respond({"models": page.items, "next_page_token": page.next_page_token})


@router.get("/models/{name}", response_model=RegisteredModel)
def get_model(name: NamePath, request: Request, _: Caller) -> Response:
    """One model with its aliases and latest version."""
    return respond(registry(request).get_registered_model(name))


@router.get("/models/{name}/versions", response_model=list[ModelVersionOut])
def list_versions(name: NamePath, request: Request, policy: Caller,
                  include_deleted: bool = False) -> Response:
    """The model's versions by number (metrics and lineage left out where the version's run
    is in an experiment the caller may not read)."""
    versions = registry(request).list_model_versions(name, include_deleted=include_deleted)
    return respond([redact_version(policy, mv) for mv in versions])


@router.get("/models/{name}/versions/{version}", response_model=ModelVersionOut)
def get_version(name: NamePath, version: VersionPath, request: Request,
                policy: Caller) -> Response:
    """One version: signature, metrics at registration, lineage, aliases (metrics and lineage
    left out where the run is in an experiment the caller may not read)."""
    return respond(redact_version(policy, registry(request).get_model_version(name, version)))


@router.get("/models/{name}/aliases", response_model=list[ModelAlias])
def list_aliases(name: NamePath, request: Request, _: Caller) -> Response:
    """The model's aliases (name, version, revision, who moved it last)."""
    return respond(registry(request).list_aliases(name))


@router.get("/models/{name}/aliases/{alias}", response_model=ModelAlias)
def get_alias(name: NamePath, alias: AliasPath, request: Request, _: Caller) -> Response:
    """One alias: the version it points at and its revision (send that revision back as
    ``expected_revision`` to move it only if nobody else did meanwhile)."""
    return respond(registry(request).get_alias(name, alias))


@router.get("/models/{name}/history", response_model=list[AuditEvent])
def history(name: NamePath, request: Request, policy: Caller,
            max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
    """Every audited change of the model, oldest first; ``alias.promoted`` events hold the
    promotion gates (``detail.rules``) and their outcome."""
    reg = registry(request)
    return respond(redact_events(policy, reg, name, reg.history(name, max_results=max_results)))

"""``/api/v1/models``: changes to the model registry, each one call of `RegistryService`.

Roles: editors (and admins) register models and versions, change descriptions and tags,
move and delete aliases, promote, and soft-delete versions and models; hard deletion is for
admins; ``promote`` with ``dry_run`` only needs read access. Registering a run's model also
needs read access to the run's experiment. The audit actor is the authenticated caller
(``anonymous`` with auth off), never a value from the request.

A promotion whose gate fails is answered ``200`` with ``passed: false`` and
``promoted: false`` and the rule table: the request was valid and was evaluated, and the
table is the useful answer (CI prints it; the client raises `PromotionRejectedError` with it).
An alias moved by someone else meanwhile is ``409`` ``alias-conflict``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from shipyard.entities.identity import Role
from shipyard.entities.registry import ModelAlias, RegisteredModel
from shipyard.registry import PromotionResult
from shipyard.server.deps import Caller, State, require_run
from shipyard.server.routes._common import api_router, no_content, respond
from shipyard.server.routes.models import (
    AliasPath,
    ModelVersionOut,
    NamePath,
    VersionPath,
    registry,
)
from shipyard.server.schemas import Id, Name
from shipyard.stores.metadata import UNSET

router = api_router("models")
ANONYMOUS = "anonymous"
"""The actor recorded for changes made while the server runs without auth."""
Text = Annotated[str, Field(max_length=65_536)]
Reason = Annotated[str | None, Field(max_length=1000, description="Why; kept in the audit "
                                                                  "trail.")]
ReasonQuery = Annotated[str | None, Query(max_length=1000, description="Why; kept in the "
                                                                       "audit trail.")]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _actor(policy: Caller) -> str:
    return policy.actor or ANONYMOUS


def _editor(policy: Caller, what: str) -> None:
    policy.require_role(Role.EDITOR, what)


# -- request and response bodies ------------------------------------------------------------
class ModelCreate(_Body):
    name: Name
    description: Text = ""
    tags: dict[Name, str] = Field(default_factory=dict)


class ModelUpdate(_Body):
    description: Text
    reason: Reason = None


class TagSet(_Body):
    value: Text
    reason: Reason = None


class VersionCreate(_Body):
    """The package at ``runs:/<run_id>/<artifact_path>`` becomes the next version; the server
    reads its manifest and signature and snapshots the run's metrics and lineage."""

    run_id: Id
    artifact_path: Annotated[str, Field(min_length=1, max_length=1000)] = "model"
    description: Text = ""
    tags: dict[Name, str] = Field(default_factory=dict)
    create_model: bool = Field(default=True, description="Create the registered model "
                                                         "when it does not exist yet.")


class VersionUpdate(_Body):
    description: Text


class AliasSet(_Body):
    """Move an alias. ``expected_revision``: absent, the server compares against the alias
    as it reads it; ``null``, the alias must not exist yet; a number, the alias must still
    be at that revision. Otherwise: 409 ``alias-conflict``."""

    version: Version
    expected_revision: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    reason: Reason = None


class Promote(_Body):
    """Promote the candidate (``version``, or the version ``from_alias`` points at) to alias
    ``to`` if every rule holds, e.g. ``metrics.auc >= champion.metrics.auc + 0.005``."""

    to: Name
    from_alias: Name | None = None
    version: Version | None = None
    rules: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=100)] = (
        Field(default_factory=list))
    reason: Reason = None
    dry_run: bool = Field(default=False, description="Evaluate the rules, move nothing.")


class RuleOut(BaseModel):
    rule: str
    passed: bool
    left: Any = None
    op: str | None = None
    right: Any = None
    detail: str = ""
    skipped: bool = False


class PromotionOut(BaseModel):
    """The gate's outcome: ``passed`` (every rule held) and ``promoted`` (the alias moved;
    never with ``dry_run``)."""

    name: str
    alias: str
    candidate: int
    previous: int | None
    passed: bool
    promoted: bool
    dry_run: bool
    results: list[RuleOut]


def _promotion(result: PromotionResult, *, dry_run: bool) -> dict[str, Any]:
    return {**asdict(result), "passed": result.passed, "dry_run": dry_run}


# -- registered models ----------------------------------------------------------------------
@router.post("/models", response_model=RegisteredModel, status_code=201)
def create_model(body: ModelCreate, request: Request, policy: Caller) -> Response:
    """Register an empty model (versions are added with ``POST .../versions``)."""
    _editor(policy, "register models")
    return respond(registry(request).create_registered_model(
        body.name, description=body.description, tags=body.tags, actor=_actor(policy)), 201)


@router.patch("/models/{name}", response_model=RegisteredModel)
def update_model(name: NamePath, body: ModelUpdate, request: Request,
                 policy: Caller) -> Response:
    """Change a model's description."""
    _editor(policy, "change registered models")
    return respond(registry(request).update_registered_model(
        name, description=body.description, actor=_actor(policy), reason=body.reason))


@router.put("/models/{name}/tags/{key:path}", response_model=RegisteredModel)
def set_model_tag(name: NamePath, key: str, body: TagSet, request: Request,
                  policy: Caller) -> Response:
    """Set one tag of a model."""
    _editor(policy, "change registered models")
    return respond(registry(request).set_model_tag(name, key, body.value, actor=_actor(policy),
                                                   reason=body.reason))


@router.delete("/models/{name}/tags/{key:path}", response_model=RegisteredModel)
def delete_model_tag(name: NamePath, key: str, request: Request, policy: Caller,
                     reason: ReasonQuery = None) -> Response:
    """Remove one tag of a model (an absent tag is a no-op)."""
    _editor(policy, "change registered models")
    return respond(registry(request).delete_model_tag(name, key, actor=_actor(policy),
                                                      reason=reason))


@router.delete("/models/{name}", status_code=204)
def delete_model(name: NamePath, request: Request, policy: Caller, hard: bool = False,
                 reason: ReasonQuery = None) -> Response:
    """Soft-delete every version of a model (editors), or with ``hard=true`` remove the
    model, its versions and aliases for good (admins). The history stays readable."""
    if hard:
        policy.require_role(Role.ADMIN, "delete registered models for good")
    else:
        _editor(policy, "delete model versions")
    registry(request).delete_registered_model(name, hard=hard, actor=_actor(policy),
                                              reason=reason)
    return no_content()


# -- versions -------------------------------------------------------------------------------
@router.post("/models/{name}/versions", response_model=ModelVersionOut, status_code=201)
def create_version(name: NamePath, body: VersionCreate, request: Request, policy: Caller,
                   st: State) -> Response:
    """Register a run's model package as the next version (the model is created when
    missing, unless ``create_model`` is false)."""
    _editor(policy, "register model versions")
    require_run(st, policy, body.run_id)
    return respond(registry(request).create_model_version(
        name, run_id=body.run_id, artifact_path=body.artifact_path,
        description=body.description, tags=body.tags, actor=_actor(policy),
        create_model=body.create_model), 201)


@router.patch("/models/{name}/versions/{version}", response_model=ModelVersionOut)
def update_version(name: NamePath, version: VersionPath, body: VersionUpdate,
                   request: Request, policy: Caller) -> Response:
    """Change a version's description."""
    _editor(policy, "change model versions")
    return respond(registry(request).update_model_version(
        name, version, description=body.description, actor=_actor(policy)))


@router.put("/models/{name}/versions/{version}/tags/{key:path}",
            response_model=ModelVersionOut)
def set_version_tag(name: NamePath, version: VersionPath, key: str, body: TagSet,
                    request: Request, policy: Caller) -> Response:
    """Set one tag of a version."""
    _editor(policy, "change model versions")
    return respond(registry(request).set_version_tag(name, version, key, body.value,
                                                     actor=_actor(policy), reason=body.reason))


@router.delete("/models/{name}/versions/{version}/tags/{key:path}",
               response_model=ModelVersionOut)
def delete_version_tag(name: NamePath, version: VersionPath, key: str, request: Request,
                       policy: Caller, reason: ReasonQuery = None) -> Response:
    """Remove one tag of a version (an absent tag is a no-op)."""
    _editor(policy, "change model versions")
    return respond(registry(request).delete_version_tag(name, version, key,
                                                        actor=_actor(policy), reason=reason))


@router.delete("/models/{name}/versions/{version}", status_code=204)
def delete_version(name: NamePath, version: VersionPath, request: Request, policy: Caller,
                   hard: bool = False, reason: ReasonQuery = None) -> Response:
    """Soft-delete a version (status ``deleted``, kept for the record; editors) or, with
    ``hard=true``, remove it (admins). Aliases pointing at it are removed either way."""
    if hard:
        policy.require_role(Role.ADMIN, "delete model versions for good")
    else:
        _editor(policy, "delete model versions")
    registry(request).delete_model_version(name, version, hard=hard, actor=_actor(policy),
                                           reason=reason)
    return no_content()


# -- aliases and promotion ------------------------------------------------------------------
@router.put("/models/{name}/aliases/{alias}", response_model=ModelAlias)
def set_alias(name: NamePath, alias: AliasPath, body: AliasSet, request: Request,
              policy: Caller) -> Response:
    """Point an alias at a version as one compare-and-swap (see the body's
    ``expected_revision``). The loser of a race gets 409 ``alias-conflict``; both attempts
    are in the history."""
    _editor(policy, "move aliases")
    expected = body.expected_revision if "expected_revision" in body.model_fields_set else UNSET
    return respond(registry(request).set_alias(name, alias, body.version,
                                               expected_revision=expected,
                                               actor=_actor(policy), reason=body.reason))


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: NamePath, alias: AliasPath, request: Request, policy: Caller,
                 reason: ReasonQuery = None) -> Response:
    """Remove an alias."""
    _editor(policy, "move aliases")
    registry(request).delete_alias(name, alias, actor=_actor(policy), reason=reason)
    return no_content()


@router.post("/models/{name}/promote", response_model=PromotionOut)
def promote(name: NamePath, body: Promote, request: Request, policy: Caller) -> Response:
    """Evaluate the promotion gate here, on the server, and move alias ``to`` only if every
    rule holds. A failing rule is ``200`` with ``passed: false`` (the alias is unchanged
    and the rejection is audited); 409 ``alias-conflict`` if the alias moved meanwhile."""
    reg = registry(request)
    if body.dry_run:
        result, _ = reg.evaluate_promotion(name, to=body.to, rules=body.rules,
                                           from_alias=body.from_alias, version=body.version)
        return respond(_promotion(result, dry_run=True))
    _editor(policy, "promote model versions")
    done = reg.try_promote(name, to=body.to, rules=body.rules, from_alias=body.from_alias,
                           version=body.version, actor=_actor(policy), reason=body.reason)
    return respond(_promotion(done, dry_run=False))

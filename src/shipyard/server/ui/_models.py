"""The model registry pages: models, a model (versions, aliases, audit trail, promotion
outcomes) and a version (signature, metrics, lineage version -> run -> datasets -> code)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from shipyard.entities.registry import AuditEvent, ModelVersion
from shipyard.errors import ShipyardError
from shipyard.server._visibility import redact_events, redact_version
from shipyard.server.ui._core import PageDep, UiRoute
from shipyard.server.ui._params import qstr

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PAGE = 100
PROMOTED = "alias.promoted"


@router.get("/models")
def models(p: PageDep) -> Response:
    token = qstr(p.request, "page_token", "", 1000) or None
    page = p.client.registry.list_registered_models(max_results=PAGE, page_token=token)
    return p.render("models.html", section="models", models=page.items,
                    next_token=page.next_page_token, twin="/api/v1/models")


def _promotions(events: list[AuditEvent], version: int | None = None) -> list[AuditEvent]:
    """Promotion-gate outcomes (newest first), optionally those whose candidate was
    ``version``."""
    found = [e for e in events if e.action == PROMOTED and (
        version is None or e.detail.get("to") == version)]
    return list(reversed(found))


def _readable_run(p: Any, mv: ModelVersion) -> bool:
    lineage = mv.lineage
    return bool(mv.run_id) and (lineage.experiment_id is None
                                or p.policy.can_read(lineage.experiment_id))


@router.get("/models/{name}")
def model(name: str, p: PageDep) -> Response:
    registry = p.client.registry
    found = registry.get_registered_model(name)
    versions = [redact_version(p.policy, v) for v in
                reversed(registry.list_model_versions(name, include_deleted=True))]
    history = redact_events(p.policy, registry, name, registry.history(name), versions)
    metric_keys = sorted({k for v in versions for k in v.metrics})[:6]
    return p.render("model.html", section="models", model=found, versions=versions,
                    aliases=registry.list_aliases(name), history=list(reversed(history)),
                    promotions=_promotions(history), metric_keys=metric_keys,
                    readable={v.version: _readable_run(p, v) for v in versions},
                    twin=f"/api/v1/models/{quote(name)}/versions?include_deleted=true")


@router.get("/models/{name}/versions/{version}")
def version(name: str, version: str, p: PageDep) -> Response:
    registry = p.client.registry
    mv = redact_version(p.policy, registry.get_model_version(name, version))
    readable = _readable_run(p, mv)
    run = experiment = manifest = None
    manifest_error = None
    if readable and mv.run_id:
        try:
            run = p.client.tracking.get_run(mv.run_id)
            experiment = p.client.tracking.get_experiment(run.experiment_id)
            manifest = p.client.models.read_manifest(mv.run_id, mv.artifact_path)
        except ShipyardError as exc:
            manifest_error = exc.message
    history = redact_events(p.policy, registry, name, registry.history(name))
    events = [e for e in reversed(history) if e.detail.get("version") == mv.version
              or e.detail.get("to") == mv.version or e.detail.get("from") == mv.version]
    return p.render("model_version.html", section="models", mv=mv, run=run,
                    experiment=experiment, readable=readable, manifest=manifest,
                    manifest_error=manifest_error, events=events,
                    promotions=_promotions(history, mv.version),
                    twin=f"/api/v1/models/{quote(name)}/versions/{mv.version}")

"""What a caller may see of the registry: versions whose run sits in an experiment the caller
may not read are shown without the run's data (shared by the API and the UI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shipyard.auth import AccessPolicy
from shipyard.entities.registry import AuditEvent, Lineage, ModelVersion
from shipyard.registry import RegistryService


def _hidden(policy: AccessPolicy, experiment_id: str | None) -> bool:
    return experiment_id is not None and not policy.can_read(experiment_id)


def redact_version(policy: AccessPolicy, mv: ModelVersion) -> ModelVersion:
    """A version whose run sits in an experiment the caller may not read keeps its number,
    flavor, signature (what a caller of the served model needs) and ids, but not the run's
    data: its metrics snapshot and its datasets, code version and source."""
    lineage = mv.lineage
    if not _hidden(policy, lineage.experiment_id):
        return mv
    return replace(mv, metrics={}, lineage=Lineage(run_id=lineage.run_id,
                                                   experiment_id=lineage.experiment_id))


def redact_events(policy: AccessPolicy, reg: RegistryService, name: str,
                  events: list[AuditEvent],
                  versions: Sequence[ModelVersion] | None = None) -> list[AuditEvent]:
    """Promotion events carry both versions' metric values in their rule tables: drop the
    tables of promotions that involve a version the caller may not read. ``versions``: the
    model's versions (deleted ones too) when the caller has them already."""
    if not policy.hidden_experiments():
        return events
    if versions is None:
        versions = reg.list_model_versions(name, include_deleted=True)
    hidden = {mv.version for mv in versions if _hidden(policy, mv.lineage.experiment_id)}
    out = []
    for e in events:
        involved = {e.detail.get(k) for k in ("version", "to", "from")}
        if "rules" in e.detail and involved & hidden:
            e = replace(e, detail={k: v for k, v in e.detail.items() if k != "rules"}
                        | {"rules_hidden": True})
        out.append(e)
    return out

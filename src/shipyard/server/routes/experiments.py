"""``/api/v1/experiments``: create, read, list, delete, restore, purge, access lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from shipyard.entities.identity import ExperimentPermission, Role
from shipyard.entities.tracking import Experiment
from shipyard.errors import InvalidArgumentError
from shipyard.server.deps import Caller, State, Tracking, audit
from shipyard.server.routes._common import api_router, no_content, respond
from shipyard.server.schemas import ExperimentCreate, PermissionIn

router = api_router("experiments")
NameQuery = Annotated[str | None, Query(max_length=250,
                                        description="Only the experiment with this exact name.")]


@router.get("/experiments", response_model=list[Experiment])
def list_experiments(policy: Caller, tracking: Tracking, name: NameQuery = None,
                     include_deleted: bool = False) -> Response:
    """Experiments the caller may read, oldest first (or the one with ``name``)."""
    if name is not None:
        found = tracking.find_experiment(name) if name else None
        exps = [found] if found is not None and (
            include_deleted or found.lifecycle == "active") else []
    else:
        exps = tracking.list_experiments(include_deleted=include_deleted)
    hidden = policy.hidden_experiments()
    return respond([e for e in exps if e.id not in hidden])


@router.post("/experiments", response_model=Experiment, status_code=201)
def create_experiment(body: ExperimentCreate, policy: Caller, tracking: Tracking,
                      st: State) -> Response:
    """Create an experiment; the caller is recorded as its creator."""
    policy.require_role(Role.EDITOR, "create experiments")
    exp = tracking.create_experiment(body.name, description=body.description, tags=body.tags,
                                     actor=policy.actor)
    audit(st, policy, "experiment.create", "experiment", exp.id, name=exp.name)
    return respond(exp, 201)


@router.get("/experiments/{experiment_id}", response_model=Experiment)
def get_experiment(experiment_id: str, policy: Caller, tracking: Tracking) -> Response:
    """One experiment, by id (or by exact name)."""
    exp = tracking.get_experiment(experiment_id)
    policy.require_read(exp.id)
    return respond(exp)


@router.get("/experiments/{experiment_id}/keys", response_model=dict[str, list[str]])
def list_run_keys(experiment_id: str, policy: Caller, tracking: Tracking) -> Response:
    """Every metric, param and tag key logged to the experiment's runs (deleted runs too):
    ``{"metrics": [...], "params": [...], "tags": [...]}``, each sorted (the runs page's
    column chooser)."""
    exp = tracking.get_experiment(experiment_id)
    policy.require_read(exp.id)
    return respond(tracking.list_run_keys(exp.id))


@router.delete("/experiments/{experiment_id}", response_model=Experiment)
def delete_experiment(experiment_id: str, policy: Caller, tracking: Tracking,
                      st: State) -> Response:
    """Soft-delete an experiment and its runs (admin)."""
    policy.require_role(Role.ADMIN, "delete experiments")
    exp = tracking.delete_experiment(experiment_id)
    audit(st, policy, "experiment.delete", "experiment", exp.id)
    return respond(exp)


@router.post("/experiments/{experiment_id}/restore", response_model=Experiment)
def restore_experiment(experiment_id: str, policy: Caller, tracking: Tracking,
                       st: State) -> Response:
    """Restore a soft-deleted experiment and its runs (admin)."""
    policy.require_role(Role.ADMIN, "restore experiments")
    exp = tracking.restore_experiment(experiment_id)
    audit(st, policy, "experiment.restore", "experiment", exp.id)
    return respond(exp)


@router.post("/experiments/{experiment_id}/purge", status_code=204)
def purge_experiment(experiment_id: str, policy: Caller, tracking: Tracking,
                     st: State) -> Response:
    """Permanently remove an experiment that has no runs left (admin)."""
    policy.require_role(Role.ADMIN, "purge experiments")
    tracking.purge_experiment(experiment_id)
    audit(st, policy, "experiment.purge", "experiment", experiment_id)
    return no_content()


def _auth_on(st: State) -> None:
    if st.auth is None:
        msg = "This server runs without auth, so experiments have no access lists."
        raise InvalidArgumentError(msg, hint="start it with `shipyard server --auth`")


@router.get("/experiments/{experiment_id}/permissions",
            response_model=list[ExperimentPermission])
def list_permissions(experiment_id: str, policy: Caller, tracking: Tracking,
                     st: State) -> Response:
    """The experiment's access list (empty: every user with a role may see it)."""
    _auth_on(st)
    exp = tracking.get_experiment(experiment_id)
    policy.require_read(exp.id)
    assert st.auth is not None
    return respond(st.auth.list_permissions(exp.id))


@router.put("/experiments/{experiment_id}/permissions/{username}",
            response_model=list[ExperimentPermission])
def grant_permission(experiment_id: str, username: str, body: PermissionIn, policy: Caller,
                     tracking: Tracking, st: State) -> Response:
    """Give a user read, edit or manage on the experiment, which makes it private."""
    _auth_on(st)
    exp = tracking.get_experiment(experiment_id)
    assert st.auth is not None
    listed = st.auth.grant(policy, exp.id, username, body.permission)
    audit(st, policy, "experiment.grant", "experiment", exp.id, user=username,
          permission=body.permission.value)
    return respond(listed)


@router.delete("/experiments/{experiment_id}/permissions/{username}",
               response_model=list[ExperimentPermission])
def revoke_permission(experiment_id: str, username: str, policy: Caller, tracking: Tracking,
                      st: State) -> Response:
    """Take a user off the access list (an empty list makes the experiment public)."""
    _auth_on(st)
    exp = tracking.get_experiment(experiment_id)
    assert st.auth is not None
    listed = st.auth.revoke(policy, exp.id, username)
    audit(st, policy, "experiment.revoke", "experiment", exp.id, user=username)
    return respond(listed)

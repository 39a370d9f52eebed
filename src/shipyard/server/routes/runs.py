"""``/api/v1/runs``: create, read, update, log (batched, idempotent), search, delete, gc."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Query, Response

from shipyard.entities._ids import from_ms
from shipyard.entities.identity import Role
from shipyard.entities.tracking import DatasetInput, Run, RunContext
from shipyard.errors import ExperimentNotFoundError, RunNotFoundError
from shipyard.server.deps import Caller, State, Tracking, audit, require_run
from shipyard.server.routes._common import api_router, no_content, respond
from shipyard.server.schemas import (
    Datasets,
    Gc,
    Heartbeat,
    LogBatch,
    LogBatchResult,
    MetricIn,
    MetricOut,
    Purged,
    RunCreate,
    RunIds,
    RunOut,
    RunPage,
    RunUpdate,
    SearchRuns,
)
from shipyard.stores.metadata import UNSET

router = api_router("runs")
KeyPath = Annotated[str, Query(min_length=1, max_length=250, description="The metric key.")]


def _rows(metrics: list[MetricIn]) -> Iterator[tuple[str, float, int, datetime]]:
    """``(key, value, step, time)`` of wire points; epoch-ms times are converted once each
    (points logged in one loop share a few milliseconds)."""
    times: dict[int, datetime] = {}
    for m in metrics:
        ts = m["timestamp"]
        if isinstance(ts, int):
            when = times.get(ts)
            if when is None:
                when = times[ts] = from_ms(ts)
            ts = when
        yield m["key"], m["value"], m.get("step", 0), ts


def _visible(policy: Caller, runs: list[Run]) -> list[Run]:
    hidden = policy.hidden_experiments()
    return [r for r in runs if r.experiment_id not in hidden] if hidden else runs


@router.post("/runs", response_model=RunOut, status_code=201)
def create_run(body: RunCreate, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Start a run (status running). The caller is recorded as its creator."""
    policy.require_role(Role.EDITOR, "create runs")
    if body.experiment_id is not None:
        policy.require_write(body.experiment_id)
    elif not policy.is_admin:
        name = body.experiment or tracking.settings.default_experiment
        with contextlib.suppress(ExperimentNotFoundError):
            policy.require_write(tracking.get_experiment(name).id)
    ctx = None if body.context is None else RunContext(**body.context.model_dump())
    run = tracking.create_run(
        experiment=body.experiment, experiment_id=body.experiment_id, name=body.name,
        parent_id=body.parent_id, tags=body.tags, description=body.description,
        context=ctx or RunContext(), start_time=body.start_time, actor=policy.actor)
    audit(st, policy, "run.create", "run", run.id, experiment_id=run.experiment_id)
    return respond(run, 201)


@router.post("/runs/search", response_model=RunPage)
def search_runs(body: SearchRuns, policy: Caller, tracking: Tracking) -> Response:
    """Runs matching a filter, in the experiments the caller may read."""
    experiments = body.experiment_ids
    hidden = policy.hidden_experiments()
    if experiments and not policy.is_admin:
        for name in experiments:
            policy.require_read(tracking.get_experiment(name).id)
    elif hidden:
        experiments = [e.id for e in tracking.list_experiments(include_deleted=True)
                       if e.id not in hidden]
        if not experiments:
            return respond({"runs": [], "next_page_token": None})
    page = tracking.search_runs(
        experiments, filter=body.filter, order_by=body.order_by, max_results=body.max_results,
        page_token=body.page_token, offset=body.offset, include_deleted=body.include_deleted,
        deleted_only=body.deleted_only)
    return respond({"runs": page.items, "next_page_token": page.next_page_token})


@router.post("/runs/batch-get", response_model=list[RunOut])
def get_runs(body: RunIds, policy: Caller, tracking: Tracking) -> Response:
    """Runs in the order asked; unknown (or unreadable) ids are left out."""
    return respond(_visible(policy, tracking.get_runs(body.run_ids)))


@router.get("/runs/search", response_model=RunPage)
def search_runs_get(query: Annotated[SearchRuns, Query()], policy: Caller,
                    tracking: Tracking) -> Response:
    """The same search as a link (the UI's runs table links its JSON twin here):
    ``?experiment_ids=ID&filter=...&order_by=metrics.auc DESC&max_results=50&offset=0``."""
    return search_runs(query, policy, tracking)


@router.get("/runs/batch-get", response_model=list[RunOut])
def get_runs_get(query: Annotated[RunIds, Query()], policy: Caller,
                 tracking: Tracking) -> Response:
    """The same as a link: ``?run_ids=a&run_ids=b`` (the UI's compare page's JSON twin)."""
    return get_runs(query, policy, tracking)


@router.post("/runs/heartbeat", status_code=204)
def heartbeat(body: Heartbeat, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Record that these runs are alive (at ``at``, default now)."""
    policy.require_role(Role.EDITOR, "send heartbeats")
    for run_id in body.run_ids:
        with contextlib.suppress(RunNotFoundError):  # unknown ids are ignored, as in the port
            require_run(st, policy, run_id, write=True)
    tracking.heartbeat(body.run_ids, at=body.at)
    return no_content()


@router.post("/runs/delete", status_code=204)
def delete_runs(body: RunIds, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Soft-delete runs, restorable until gc (admin)."""
    policy.require_role(Role.ADMIN, "delete runs")
    tracking.delete_runs(body.run_ids)
    for run_id in body.run_ids:
        audit(st, policy, "run.delete", "run", run_id)
    return no_content()


@router.post("/runs/restore", status_code=204)
def restore_runs(body: RunIds, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Restore soft-deleted runs (admin)."""
    policy.require_role(Role.ADMIN, "restore runs")
    tracking.restore_runs(body.run_ids)
    for run_id in body.run_ids:
        audit(st, policy, "run.restore", "run", run_id)
    return no_content()


@router.post("/runs/purge", status_code=204)
def purge_runs(body: RunIds, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Permanently remove runs and their artifacts (admin)."""
    policy.require_role(Role.ADMIN, "purge runs")
    tracking.purge_runs(body.run_ids)
    for run_id in body.run_ids:
        audit(st, policy, "run.purge", "run", run_id)
    return no_content()


@router.get("/runs/deleted", response_model=list[RunOut])
def list_deleted_runs(policy: Caller, tracking: Tracking,
                      deleted_before: datetime | None = None) -> Response:
    """Soft-deleted runs (optionally only those deleted before a time)."""
    return respond(_visible(policy, tracking.list_deleted_runs(
        deleted_before=deleted_before)))


@router.get("/runs/stale", response_model=list[RunOut])
def list_stale_runs(heartbeat_before: datetime, policy: Caller,
                    tracking: Tracking) -> Response:
    """Running runs whose last heartbeat is older than ``heartbeat_before``."""
    return respond(_visible(policy, tracking.find_stale_runs(
        heartbeat_before=heartbeat_before)))


@router.post("/gc", response_model=Purged)
def gc(body: Gc, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Permanently remove deleted runs (deleted longer ago than ``older_than_seconds``), their
    artifacts, and deleted experiments left empty (admin)."""
    policy.require_role(Role.ADMIN, "run gc")
    older = None if body.older_than_seconds is None else timedelta(
        seconds=body.older_than_seconds)
    purged = tracking.gc(older_than=older)
    audit(st, policy, "gc", "server", "gc", purged_runs=len(purged))
    return respond({"purged_runs": purged})


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, policy: Caller, tracking: Tracking) -> Response:
    """The run with its params, tags and latest metrics."""
    run = tracking.get_run(run_id)
    policy.require_read(run.experiment_id)
    return respond(run)


@router.patch("/runs/{run_id}", response_model=RunOut)
def update_run(run_id: str, body: RunUpdate, policy: Caller, tracking: Tracking,
               st: State) -> Response:
    """Change the fields present: name, description, status, end_time, error."""
    policy.require_role(Role.EDITOR, "update runs")
    require_run(st, policy, run_id, write=True)
    given = body.model_fields_set
    fields = {k: getattr(body, k) if k in given else UNSET
              for k in ("name", "description", "status", "end_time", "error")}
    if fields["name"] is None:
        fields["name"] = UNSET
    if fields["description"] is None:
        fields["description"] = UNSET
    if fields["status"] is None:
        fields["status"] = UNSET
    run = tracking.update_run(run_id, **fields)
    audit(st, policy, "run.update", "run", run_id, fields=sorted(given))
    return respond(run)


@router.post("/runs/{run_id}/log-batch", response_model=LogBatchResult)
def log_batch(run_id: str, body: LogBatch, policy: Caller, tracking: Tracking,
              st: State) -> Response:
    """Metrics, params and tags in one transaction. A repeated ``batch_id`` writes nothing
    and answers ``written: false``, so clients can retry safely."""
    policy.require_role(Role.EDITOR, "log to runs")
    require_run(st, policy, run_id, write=True)
    points = tracking.make_metrics(_rows(body.metrics))  # validated like the library's own
    written = tracking.log_batch(run_id, metrics=points, params=body.params, tags=body.tags,
                                 batch_id=body.batch_id)
    if written:
        audit(st, policy, "run.log_batch", "run", run_id, metrics=len(points),
              params=sorted(body.params), tags=sorted(body.tags))
    return respond({"written": written})


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=204)
def delete_tag(run_id: str, key: str, policy: Caller, tracking: Tracking,
               st: State) -> Response:
    """Remove a tag (idempotent)."""
    policy.require_role(Role.EDITOR, "change tags")
    require_run(st, policy, run_id, write=True)
    tracking.delete_tag(run_id, key)
    audit(st, policy, "run.delete_tag", "run", run_id, key=key)
    return no_content()


@router.get("/runs/{run_id}/metric-history", response_model=list[MetricOut])
def metric_history(run_id: str, key: KeyPath, policy: Caller, tracking: Tracking,
                   st: State) -> Response:
    """Every point of one metric series, by step then time."""
    require_run(st, policy, run_id)
    return respond(tracking.get_metric_history(run_id, key))


@router.post("/runs/{run_id}/inputs", status_code=204)
def log_inputs(run_id: str, body: Datasets, policy: Caller, tracking: Tracking,
               st: State) -> Response:
    """Record datasets the run consumed (re-logging one is a no-op)."""
    policy.require_role(Role.EDITOR, "log datasets")
    require_run(st, policy, run_id, write=True)
    datasets = [DatasetInput(name=d.name, digest=d.digest, source=d.source, schema=d.schema_,
                             num_rows=d.num_rows, context=d.context) for d in body.datasets]
    tracking.log_inputs(run_id, datasets)
    audit(st, policy, "run.log_inputs", "run", run_id, datasets=[d.name for d in datasets])
    return no_content()


@router.get("/runs/{run_id}/inputs", response_model=list[DatasetInput])
def list_inputs(run_id: str, policy: Caller, tracking: Tracking, st: State) -> Response:
    """Datasets of a run in logging order."""
    require_run(st, policy, run_id)
    return respond(tracking.list_inputs(run_id))

"""The run page (params, tags, metric charts, system metrics, artifacts, datasets, lineage,
parent and child runs) and the compare page (overlaid charts, a diff table, parallel
coordinates)."""

from __future__ import annotations

import math
import mimetypes
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.responses import Response

from shipyard.entities.tracking import Metric, Run
from shipyard.errors import InvalidArgumentError, RunNotFoundError
from shipyard.server._streaming import iter_file
from shipyard.server.deps import require_run
from shipyard.server.ui import _artifacts
from shipyard.server.ui._core import PageDep, UiRoute
from shipyard.server.ui._params import field_ref, qlist, qstr, sorted_keys

router = APIRouter(route_class=UiRoute, include_in_schema=False)

DEFAULT_CHARTS = 6
MAX_CHARTS = 24
MAX_SYSTEM_CHARTS = 12
MAX_POINTS = 5000
MAX_COMPARE = 50
DEFAULT_COMPARE_CHARTS = 4
MAX_PARCOORD_PARAMS = 12
CHILDREN = 200
SYSTEM = "system/"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def series(points: list[Metric], limit: int = MAX_POINTS) -> dict[str, Any]:
    """A metric history as chart columns (``step``, ``time`` in epoch seconds, ``value``;
    NaN/inf as null), thinned to at most ``limit`` points (the last point always kept)."""
    n = len(points)
    stride = max(1, math.ceil(n / limit))
    picked = points[::stride]
    if stride > 1 and picked and picked[-1] is not points[-1]:
        picked.append(points[-1])
    return {"step": [p.step for p in picked],
            "time": [round(p.timestamp.timestamp(), 3) for p in picked],
            "value": [_finite(p.value) for p in picked],
            "points": n, "thinned": stride > 1}


def _histories(tracking: Any, run_id: str, keys: list[str],
               limit: int = MAX_POINTS) -> dict[str, Any]:
    return {k: series(tracking.get_metric_history(run_id, k), limit) for k in keys}


def default_charts(tracking: Any, run_id: str, keys: list[str], want: int,
                   probe: int = 20) -> tuple[list[str], dict[str, list[Metric]]]:
    """Up to ``want`` keys to chart, series with more than one point first (a single
    value makes a poor line chart), looking at no more than ``probe`` histories; returns
    the histories read, to be reused."""
    read: dict[str, list[Metric]] = {}
    multi: list[str] = []
    for key in keys[:probe]:
        read[key] = tracking.get_metric_history(run_id, key)
        if len(read[key]) > 1:
            multi.append(key)
            if len(multi) >= want:
                break
    rest = [k for k in keys if k not in multi]
    return (multi + rest)[:want], read


@router.get("/runs/{run_id}")
def run_page(run_id: str, p: PageDep) -> Response:
    tracking = p.client.tracking
    run = tracking.get_run(run_id)
    p.policy.require_read(run.experiment_id)
    exp = tracking.get_experiment(run.experiment_id)
    keys = sorted_keys(run.metrics)
    plain = [k for k in keys if not k.startswith(SYSTEM)]
    system = [k for k in keys if k.startswith(SYSTEM)][:MAX_SYSTEM_CHARTS]
    charts = [k for k in qlist(p.request, "charts") if k in run.metrics][:MAX_CHARTS]
    read: dict[str, list[Metric]] = {}
    if not charts:
        charts, read = default_charts(tracking, run.id, plain, DEFAULT_CHARTS)
    parent = None
    if run.parent_id:
        try:
            parent = tracking.get_run(run.parent_id)
        except RunNotFoundError:
            parent = None
        if parent is not None and not p.policy.can_read(parent.experiment_id):
            parent = None
    children = tracking.search_runs(
        [exp.id], filter=f"attributes.parent_id = '{run.id}'", max_results=CHILDREN).items
    infos = tracking.list_artifacts(run.id)
    paths = {i.path for i in infos}
    selected = qstr(p.request, "artifact", "", 1024)
    preview = None
    if selected:
        info = next((i for i in infos if i.path == selected), None)
        if info is not None:
            preview = _artifacts.preview(p.client, run.id, info, paths)
    manifests = sorted(path for path in paths if _artifacts.is_manifest(path, paths))
    context = {
        "section": "experiments", "run": run, "experiment": exp, "metric_keys": plain,
        "system_keys": system, "charts": charts,
        "histories": {k: series(read[k]) if k in read else series(
            tracking.get_metric_history(run.id, k)) for k in charts},
        "system_histories": _histories(tracking, run.id, system, 2000),
        "datasets": tracking.list_inputs(run.id), "parent": parent, "children": children,
        "artifacts": infos, "tree": _artifacts.tree(infos), "selected": selected,
        "preview": preview, "models": [m.rsplit("/", 1)[0] for m in manifests],
        "twin": f"/api/v1/runs/{run.id}",
    }
    if p.request.headers.get("hx-request") and p.request.headers.get("hx-target") == "preview":
        return p.render("_artifact_preview.html", **context)
    return p.render("run.html", **context)


@router.get("/runs/{run_id}/raw/{path:path}")
def raw_artifact(run_id: str, path: str, p: PageDep) -> Response:
    """An artifact's bytes for previews and downloads (see `_artifacts.raw_headers`)."""
    tracking = p.client.tracking
    require_run(p.st, p.policy, run_id)
    info = tracking.stat_artifact(run_id, path)
    stream = tracking.open_artifact(run_id, info.path)
    headers = _artifacts.raw_headers(info.path)
    headers["Content-Length"] = str(info.size)
    media = "text/plain; charset=utf-8" if _artifacts.ext(info.path) in (
        _artifacts.TEXT | _artifacts.TABLE | {".json"}) else (
        mimetypes.guess_type(info.path)[0] or "application/octet-stream")
    response = StreamingResponse(iter_file(stream), media_type=media, headers=headers,
                                 background=BackgroundTask(stream.close))
    p.finish(response)
    return response


# -- compare ------------------------------------------------------------------------------
def _differs(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    if len(present) != len(values):
        return True
    return any(repr(v) != repr(present[0]) for v in present[1:])


def _rows(runs: list[Run], entity: str) -> list[dict[str, Any]]:
    keys = sorted_keys(k for r in runs for k in getattr(r, entity))
    if entity == "tags":
        keys = [k for k in keys if not k.startswith("shipyard.")]
    rows = []
    for key in keys:
        values = [getattr(r, entity).get(key) for r in runs]
        row: dict[str, Any] = {"key": key, "values": values, "differs": _differs(values)}
        if entity == "metrics":
            finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
            row["min"] = min(finite) if finite else None
            row["max"] = max(finite) if finite else None
        rows.append(row)
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parallel_coordinates(runs: list[Run], param_rows: list[dict[str, Any]],
                         metric_keys: list[str]) -> dict[str, Any]:
    """Axes (the params that differ, then the chosen metrics) and one line per run; the
    last axis colours the lines. Categorical axes list their values."""
    axes = []
    for row in [r for r in param_rows if r["differs"]][:MAX_PARCOORD_PARAMS]:
        values = row["values"]
        numeric = all(_is_number(v) or v is None for v in values)
        axis: dict[str, Any] = {"name": f"params.{row['key']}", "kind": "number" if numeric
                                else "category"}
        if not numeric:
            axis["categories"] = sorted({"" if v is None else str(v) for v in values})
        axis["values"] = [v if numeric else ("" if v is None else str(v)) for v in values]
        axes.append(axis)
    for key in metric_keys:
        values = [r.metrics.get(key) for r in runs]
        axes.append({"name": f"metrics.{key}", "kind": "number",
                     "values": [v if v is not None and math.isfinite(v) else None
                                for v in values]})
    return {"runs": [{"id": r.id, "name": r.name} for r in runs], "axes": axes}


@router.get("/compare")
def compare(p: PageDep) -> Response:
    """2 to 50 runs side by side (``?runs=a,b,c``)."""
    tracking = p.client.tracking
    ids = qlist(p.request, "runs", limit=MAX_COMPARE + 1)
    if not 2 <= len(ids) <= MAX_COMPARE:
        msg = f"Compare needs 2 to {MAX_COMPARE} runs; got {len(ids)}."
        raise InvalidArgumentError(msg, hint="select runs in an experiment's runs table, "
                                             "then press Compare")
    runs = tracking.get_runs(ids)
    missing = [i for i in ids if i not in {r.id for r in runs}]
    if missing:
        msg = f"No run with id {missing[0]!r}."
        raise RunNotFoundError(msg)
    for r in runs:
        p.policy.require_read(r.experiment_id)
    experiments = {e.id: e for e in (tracking.get_experiment(x) for x in
                                     dict.fromkeys(r.experiment_id for r in runs))}
    param_rows = _rows(runs, "params")
    metric_rows = _rows(runs, "metrics")
    plain = [r["key"] for r in metric_rows if not r["key"].startswith(SYSTEM)]
    chosen = [k for k in qlist(p.request, "metrics") if k in {r["key"] for r in metric_rows}]
    if not chosen:  # series most runs have, those that differ first
        counts = {r["key"]: (sum(v is not None for v in r["values"]), r["differs"])
                  for r in metric_rows if r["key"] in plain}
        ranked = sorted(plain, key=lambda k: (-counts[k][0], not counts[k][1], k.lower()))
        chosen, read = default_charts(tracking, runs[0].id, [k for k in ranked
                                                            if k in runs[0].metrics],
                                      DEFAULT_COMPARE_CHARTS)
        chosen += [k for k in ranked if k not in chosen][:DEFAULT_COMPARE_CHARTS - len(chosen)]
        # Parallel coordinates show summary metrics (one value a run) when there are some.
        axes_metrics = [k for k in ranked if len(read.get(k, [None, None])) == 1][:3]
    else:
        axes_metrics = []
    axes_metrics = axes_metrics or chosen[:3]
    per_series = max(200, MAX_POINTS * 4 // max(1, len(runs) * max(1, len(chosen))))
    overlays = {key: [{"run": r.id, "name": r.name,
                       **series(tracking.get_metric_history(r.id, key), per_series)}
                      for r in runs if key in r.metrics] for key in chosen}
    attributes: list[dict[str, Any]] = [
        {"key": "experiment", "values": [experiments[r.experiment_id].name for r in runs]},
        {"key": "status", "values": [r.status.value for r in runs]},
        {"key": "duration_s", "values": [r.duration_s for r in runs]},
        {"key": "user", "values": [r.context.user for r in runs]},
        {"key": "git_commit", "values": [r.context.git_commit for r in runs]},
    ]
    for row in attributes:
        row["differs"] = _differs(row["values"])
    context = {
        "section": "experiments", "runs": runs, "attributes": attributes,
        "param_rows": param_rows, "metric_rows": metric_rows, "tag_rows": _rows(runs, "tags"),
        "metric_keys": plain, "chosen": chosen, "overlays": overlays,
        "parcoords": parallel_coordinates(runs, param_rows, axes_metrics),
        "only_diff": p.request.query_params.get("diff") == "1",
        "ids": ",".join(r.id for r in runs), "field_ref": field_ref,
        "twin": "/api/v1/runs/batch-get?" + "&".join(f"run_ids={r.id}" for r in runs),
        "experiment_ids": list(experiments),
    }
    return p.render("compare.html", **context)

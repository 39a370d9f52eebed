"""Experiments and the runs table.

The runs table stays fast at any size because the database does the work: filtering (the
search language), ordering and paging happen in ``TrackingService.search_runs``, one page of
runs is loaded, and only the chosen columns are rendered. With htmx, filtering, sorting and
paging swap just the table (the server renders only that part for ``HX-Request``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from starlette.responses import Response

from shipyard.entities.identity import Role
from shipyard.entities.tracking import Page as RunsPage
from shipyard.entities.tracking import Run
from shipyard.errors import InvalidArgumentError
from shipyard.server.deps import audit
from shipyard.server.ui._core import PageDep, UiRoute, safe_next
from shipyard.server.ui._params import field_ref, qint, qlist, qstr, sorted_keys, split_column

router = APIRouter(route_class=UiRoute, include_in_schema=False)

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_METRIC_COLUMNS = 6
DEFAULT_PARAM_COLUMNS = 4
SHOW = ("active", "deleted", "all")
MAX_SELECTION = 50


@router.get("/")
def experiments(p: PageDep) -> Response:
    """Every experiment the caller may read."""
    tracking = p.client.tracking
    show_deleted = p.request.query_params.get("show") == "deleted"
    exps = tracking.list_experiments(include_deleted=show_deleted)
    hidden = p.policy.hidden_experiments()
    exps = [e for e in exps if e.id not in hidden and (
        not show_deleted or e.lifecycle == "deleted")]
    exps.sort(key=lambda e: e.created_at, reverse=True)
    return p.render("experiments.html", section="experiments", experiments=exps,
                    show_deleted=show_deleted, twin="/api/v1/experiments")


@dataclass
class Column:
    """A chosen column of the runs table."""

    entity: str  # metrics | params | tags
    key: str

    @property
    def ref(self) -> str:
        return field_ref(self.entity, self.key)

    @property
    def id(self) -> str:
        return f"{self.entity}.{self.key}"

    def value(self, run: Run) -> Any:
        return getattr(run, self.entity).get(self.key)


def _columns(chosen: list[str], keys: dict[str, list[str]],
             ) -> tuple[list[Column], dict[str, list[str]]]:
    """The chosen columns (default: the first metrics and params) and, for the column
    chooser, every key of the experiment's runs (``TrackingService.list_run_keys``: one
    query, not just the keys of the runs on this page)."""
    available = {
        "metrics": sorted_keys(keys.get("metrics", ())),
        "params": sorted_keys(keys.get("params", ())),
        "tags": sorted_keys(k for k in keys.get("tags", ()) if not k.startswith("shipyard.")),
    }
    if chosen:
        cols = [Column(*parts) for c in chosen if (parts := split_column(c)) is not None]
    else:
        plain = [k for k in available["metrics"] if not k.startswith("system/")]
        cols = [Column("metrics", k) for k in plain[:DEFAULT_METRIC_COLUMNS]]
        cols += [Column("params", k) for k in available["params"][:DEFAULT_PARAM_COLUMNS]]
    for col in cols:  # keep chosen keys in the chooser even when this page lacks them
        if col.key not in available[col.entity]:
            available[col.entity] = sorted_keys([*available[col.entity], col.key])
    return cols, available


def _order_parts(order: str) -> tuple[str, bool]:
    field, _, direction = order.strip().rpartition(" ")
    if direction.upper() in ("ASC", "DESC") and field:
        return field.strip(), direction.upper() == "DESC"
    return order.strip(), False


@router.get("/experiments/{experiment_id}")
def runs(experiment_id: str, p: PageDep) -> Response:
    """The runs table of an experiment: filter, order, page, columns, bulk actions."""
    tracking = p.client.tracking
    exp = tracking.get_experiment(experiment_id)
    p.policy.require_read(exp.id)
    q = p.request
    filter_text = qstr(q, "filter")
    order = qstr(q, "order", "", 500)
    size = qint(q, "size", 50, 1, max(PAGE_SIZES))
    number = qint(q, "page", 1, 1, 10**9)
    show = qstr(q, "show", "active")
    show = show if show in SHOW else "active"
    chosen = qlist(q, "cols")
    error: InvalidArgumentError | None = None
    try:
        result = tracking.search_runs(
            [exp.id], filter=filter_text, order_by=[order] if order else [],
            max_results=size, offset=(number - 1) * size, deleted_only=show == "deleted",
            include_deleted=show == "all")
    except InvalidArgumentError as exc:  # a bad filter or order: shown inline, above the table
        error, result = exc, RunsPage(items=[])
    cols, available = _columns(chosen, tracking.list_run_keys(exp.id))
    params = {"filter": filter_text or None, "order": order or None, "size": size,
              "show": show if show != "active" else None,
              "cols": ",".join(c.id for c in cols) if chosen else None}
    sort_field, descending = _order_parts(order)
    twin = "/api/v1/runs/search?" + urlencode(
        [("experiment_ids", exp.id), ("filter", filter_text), ("max_results", size),
         ("offset", (number - 1) * size)] + ([("order_by", order)] if order else [])
        + ([("deleted_only", "true")] if show == "deleted" else [])
        + ([("include_deleted", "true")] if show == "all" else []))
    context = {
        "section": "experiments", "experiment": exp, "runs": result.items,
        "columns": cols, "available": available, "error": error, "params": params,
        "page_number": number, "size": size, "sizes": PAGE_SIZES, "show": show,
        "has_next": result.next_page_token is not None, "first": (number - 1) * size + 1,
        "sort_field": sort_field, "descending": descending, "filter_text": filter_text,
        "chosen": chosen, "twin": twin, "can_delete": p.can(Role.ADMIN),
        "here": q.url.path[len(p.base):] + (f"?{q.url.query}" if q.url.query else ""),
    }
    # htmx swaps just the table, except when it restores a page missing from its history cache
    swap = q.headers.get("hx-request") and not q.headers.get("hx-history-restore-request")
    template = "_runs_table.html" if swap else "runs.html"
    return p.render(template, **context)


def _selected(form: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(form.get("run_ids", [])))


@router.post("/experiments/{experiment_id}/runs")
async def bulk(experiment_id: str, p: PageDep) -> Response:
    """The runs table's bulk actions: delete, restore (admins), compare (anyone)."""
    form = await p.form()
    action = (form.get("action") or [""])[0]
    back = safe_next((form.get("next") or [""])[0]) if form.get("next") else (
        f"/experiments/{quote(experiment_id)}")
    ids = _selected(form)
    tracking = p.client.tracking
    exp = tracking.get_experiment(experiment_id)
    p.policy.require_read(exp.id)
    if action == "compare":
        if not 2 <= len(ids) <= MAX_SELECTION:
            msg = f"Pick 2 to {MAX_SELECTION} runs to compare; {len(ids)} were selected."
            raise InvalidArgumentError(msg, hint="tick the runs in the table, then Compare")
        return p.redirect("/compare?" + urlencode([("runs", ",".join(ids))]))
    if action not in ("delete", "restore"):
        msg = f"Unknown action {action!r}; expected delete, restore or compare."
        raise InvalidArgumentError(msg)
    p.policy.require_role(Role.ADMIN, f"{action} runs")
    runs_found = tracking.get_runs(ids)
    if any(r.experiment_id != exp.id for r in runs_found):
        msg = "Some selected runs belong to another experiment."
        raise InvalidArgumentError(msg, hint="select runs of this experiment only")
    if action == "delete":
        tracking.delete_runs(ids)
    else:
        tracking.restore_runs(ids)
    for run_id in ids:
        audit(p.st, p.policy, f"run.{action}", "run", run_id)
    return p.redirect(back)

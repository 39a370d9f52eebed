"""``shipyard runs`` and ``shipyard gc``: inspect, compare, delete and purge runs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import click

from shipyard.cli._output import fmt, get_client, json_option, print_json, print_table


@click.group("runs")
def runs() -> None:
    """Runs: list, show, compare, delete, restore."""


@runs.command("list")
@click.option("-e", "--experiment", "experiments", multiple=True,
              help="Experiment name or id (repeatable; default: all).")
@click.option("-f", "--filter", "filter_", default="",
              help="Search filter, e.g. \"metrics.auc > 0.8 and params.model = 'rf'\".")
@click.option("-o", "--order-by", multiple=True,
              help="e.g. 'metrics.auc DESC' (repeatable).")
@click.option("-n", "--max-results", default=50, show_default=True, help="Page size.")
@click.option("--page-token", default=None, help="Token printed by the previous page.")
@click.option("--deleted", is_flag=True, help="Show only deleted runs.")
@json_option
def list_(experiments: tuple[str, ...], filter_: str, order_by: tuple[str, ...],
          max_results: int, page_token: str | None, deleted: bool, as_json: bool) -> None:
    """List runs, newest first, with their latest metrics."""
    page = get_client().tracking.search_runs(
        list(experiments) or None, filter=filter_, order_by=list(order_by),
        max_results=max_results, page_token=page_token, deleted_only=deleted)
    if as_json:
        print_json({"runs": page.items, "next_page_token": page.next_page_token})
        return
    metric_keys = sorted({k for r in page.items for k in r.metrics})[:6]
    rows = [[r.id[:12], r.name, r.status, r.start_time,
             None if r.duration_s is None else f"{r.duration_s:.1f}s",
             *[r.metrics.get(k) for k in metric_keys]] for r in page.items]
    print_table("Runs", ["id", "name", "status", "started", "duration", *metric_keys], rows)
    if page.next_page_token:
        click.echo(f"more: --page-token {page.next_page_token}")


def _resolve(client: Any, run_id: str) -> str:
    """Accept a full id or a unique prefix of at least 6 characters (as printed by list)."""
    if len(run_id) == 32:
        return run_id
    from shipyard.errors import RunNotFoundError

    if len(run_id) >= 6:
        matches = [r.id for r in client.tracking.iter_runs(include_deleted=True)
                   if r.id.startswith(run_id)]
        if len(matches) == 1:
            return matches[0]
    msg = f"No single run matches {run_id!r}."
    raise RunNotFoundError(msg, hint="use the full id from `shipyard runs list --json`")


@runs.command("show")
@click.argument("run_id")
@json_option
def show(run_id: str, as_json: bool) -> None:
    """Everything about one run: params, metrics, tags, datasets, artifacts."""
    client = get_client()
    svc = client.tracking
    run = svc.get_run(_resolve(client, run_id))
    arts = svc.list_artifacts(run.id)
    inputs = svc.list_inputs(run.id)
    if as_json:
        print_json({"run": run, "artifacts": arts, "inputs": inputs})
        return
    ctx = run.context
    print_table(f"Run {run.name}", ["field", "value"], [
        ["id", run.id], ["experiment", run.experiment_id], ["status", run.status],
        ["started", run.start_time], ["ended", run.end_time], ["user", ctx.user],
        ["source", ctx.source],
        ["git", f"{ctx.git_commit or '-'}{' (dirty)' if ctx.git_dirty else ''}"],
        ["python", ctx.python_version], ["parent", run.parent_id],
        ["error", (run.error or "")[-300:]],
    ])
    print_table("Params", ["key", "value"], [[k, v] for k, v in sorted(run.params.items())])
    print_table("Metrics (latest)", ["key", "value"],
                [[k, v] for k, v in sorted(run.metrics.items())])
    if run.tags:
        print_table("Tags", ["key", "value"], [[k, v] for k, v in sorted(run.tags.items())])
    if inputs:
        print_table("Datasets", ["name", "context", "rows", "digest", "source"],
                    [[d.name, d.context, d.num_rows, d.digest[:12], d.source] for d in inputs])
    if arts:
        print_table("Artifacts", ["path", "size", "sha256"],
                    [[a.path, a.size, a.sha256[:16]] for a in arts])


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--all-keys", is_flag=True, help="Also show keys whose values are all equal.")
@json_option
def compare(run_ids: tuple[str, ...], all_keys: bool, as_json: bool) -> None:
    """Params and metrics of several runs side by side; differing rows are marked."""
    client = get_client()
    found = [client.tracking.get_run(_resolve(client, r)) for r in run_ids]
    rows = []
    for kind, attr in (("param", "params"), ("metric", "metrics")):
        keys = sorted({k for r in found for k in getattr(r, attr)})
        for key in keys:
            values = [getattr(r, attr).get(key) for r in found]
            differs = len({fmt(v) for v in values}) > 1
            if differs or all_keys:
                rows.append({"kind": kind, "key": key, "values": values, "differs": differs})
    if as_json:
        print_json({"runs": [r.id for r in found], "rows": rows})
        return
    print_table("Compare", ["", "key", *[r.name for r in found]],
                [["*" if row["differs"] else "", f"{row['kind']}s.{row['key']}", *row["values"]]
                 for row in rows])


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
def delete(run_ids: tuple[str, ...]) -> None:
    """Soft-delete runs (restorable until `shipyard gc`)."""
    client = get_client()
    ids = [_resolve(client, r) for r in run_ids]
    client.tracking.delete_runs(ids)
    click.echo(f"Deleted {len(ids)} run(s); restore with `shipyard runs restore`")


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
def restore(run_ids: tuple[str, ...]) -> None:
    """Restore soft-deleted runs."""
    client = get_client()
    ids = [_resolve(client, r) for r in run_ids]
    client.tracking.restore_runs(ids)
    click.echo(f"Restored {len(ids)} run(s)")


@runs.command("reap")
@json_option
def reap(as_json: bool) -> None:
    """Mark running runs whose process died (no heartbeat) as killed."""
    killed = get_client().tracking.reap_stale_runs()
    if as_json:
        print_json([r.id for r in killed])
    else:
        click.echo(f"Marked {len(killed)} run(s) killed")


def _duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m:
        from shipyard.errors import invalid

        msg = "--older-than"
        raise invalid(msg, text, "a duration like 30m, 12h or 7d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


@click.command("gc")
@click.option("--older-than", default=None, help="Only runs deleted longer ago (e.g. 7d).")
@json_option
def gc(older_than: str | None, as_json: bool) -> None:
    """Permanently remove deleted runs, their artifacts and empty deleted experiments."""
    purged = get_client().tracking.gc(older_than=_duration(older_than) if older_than else None)
    if as_json:
        print_json({"purged_runs": purged})
    else:
        click.echo(f"Purged {len(purged)} run(s)")


COMMANDS = [runs, gc]

"""``shipyard monitor``: monitors over a served model's prediction log, their windows and
alerts, and one-off drift reports between two data files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click

from shipyard.cli._output import fmt, get_client, json_option, print_json, print_table


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        msg = f"{value!r} is not an ISO-8601 time (2026-01-05T10:00:00Z)."
        raise click.BadParameter(msg) from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            msg = f"{what} must look like NAME=VALUE. Got {item!r}."
            raise click.BadParameter(msg)
        out[key.strip()] = value.strip()
    return out


@click.group("monitor")
def monitor() -> None:
    """Monitors: drift, data quality and performance of a served model, with alerts."""


@monitor.command("create")
@click.argument("name")
@click.option("--model", "model", required=True, help="models:/NAME@ALIAS or models:/NAME/N.")
@click.option("--window", default="1h", show_default=True, help="Window length: 15m, 1h, 1d.")
@click.option("--rule", "rules", multiple=True,
              help="Alert rule, repeatable: \"drift_share > 0.3\", \"auc < 0.80\".")
@click.option("--webhook", "webhooks", multiple=True, help="URL that gets alert messages.")
@click.option("--start", default=None, help="ISO time of the first window (default: now's).")
@click.option("--reference", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Data file to compare with instead of the version's reference profile.")
@click.option("--cooldown", default=None, help="Cool-down between alert messages (1h).")
@click.option("--min-labels", type=int, default=None, help="Labels a performance metric needs.")
@click.option("--expected-rows", type=float, default=None, help="Normal rows per window.")
@click.option("--task", type=click.Choice(["classification", "regression"]), default=None)
@click.option("--categorical", multiple=True, help="Treat this column as categorical.")
@click.option("--method", "methods", multiple=True,
              help="Drift method: auto|ks|wasserstein|psi|js|chi2, or COLUMN=METHOD.")
@click.option("--threshold", "thresholds", multiple=True,
              help="COLUMN=VALUE or METHOD=VALUE (e.g. psi=0.25).")
@json_option
def create(name: str, model: str, window: str, rules: tuple[str, ...],
           webhooks: tuple[str, ...], start: str | None, reference: str | None,
           cooldown: str | None, min_labels: int | None, expected_rows: float | None,
           task: str | None, categorical: tuple[str, ...], methods: tuple[str, ...],
           thresholds: tuple[str, ...], as_json: bool) -> None:
    """Create a monitor NAME of a model's prediction log."""
    from shipyard.monitoring import parse_duration

    options: dict[str, Any] = {}
    if cooldown is not None:
        options["cooldown_seconds"] = parse_duration(cooldown, what="cool-down")
    if min_labels is not None:
        options["min_labels"] = min_labels
    if expected_rows is not None:
        options["expected_rows"] = expected_rows
    if task is not None:
        options["task"] = task
    if categorical:
        options["categorical"] = list(categorical)
    per_column = _pairs(tuple(m for m in methods if "=" in m), "--method")
    plain = [m for m in methods if "=" not in m]
    if per_column:
        options["drift_method"] = per_column
    elif plain:
        options["drift_method"] = plain[-1]
    if thresholds:
        options["drift_thresholds"] = {k: float(v) for k, v in _pairs(
            thresholds, "--threshold").items()}
    created = get_client().monitoring.create_monitor(
        name, model=model, window=window, rules=list(rules), webhooks=list(webhooks),
        start=_when(start), reference=reference, **options)
    if as_json:
        print_json(created)
        return
    click.echo(f"Created monitor {created.name} of {created.model_uri}, "
               f"{created.window_seconds}s windows, {len(created.rules)} rule(s).")


@monitor.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Monitors with their latest drift share, coverage and open alerts."""
    service = get_client().monitoring
    items = service.list_monitors()
    rows = []
    for m in items:
        latest = service.latest_values(m.name)
        firing = len(service.list_alerts(m.name, state="firing", max_results=1000))
        rows.append({"monitor": m, "drift_share": _value(latest, "drift_share"),
                     "label_coverage": _value(latest, "label_coverage"), "firing": firing})
    if as_json:
        print_json([{**_monitor_json(r["monitor"]), "drift_share": r["drift_share"],
                     "label_coverage": r["label_coverage"], "alerts_firing": r["firing"]}
                    for r in rows])
        return
    print_table("Monitors", ["name", "model", "window", "last window end", "drift share",
                             "coverage", "firing", "enabled"],
                [[r["monitor"].name, r["monitor"].model_uri, f"{r['monitor'].window_seconds}s",
                  r["monitor"].last_window_end, r["drift_share"], r["label_coverage"],
                  r["firing"], r["monitor"].enabled] for r in rows])


def _value(latest: dict[str, Any], key: str) -> float | None:
    point = latest.get(key)
    return None if point is None else point.value


def _monitor_json(m: Any) -> dict[str, Any]:
    from shipyard.cli._output import to_jsonable

    return to_jsonable(m)  # type: ignore[no-any-return]


@monitor.command("show")
@click.argument("name")
@click.option("-n", "--windows", default=24, show_default=True, help="Recent windows shown.")
@json_option
def show(name: str, windows: int, as_json: bool) -> None:
    """A monitor: its settings, latest values, recent windows and open alerts."""
    service = get_client().monitoring
    m = service.get_monitor(name)
    latest = service.latest_values(name)
    results = service.list_results(name, max_results=windows)
    alerts = service.list_alerts(name, max_results=20)
    if as_json:
        print_json({"monitor": m, "latest": {k: {"value": v.value, "window_start":
                                                 v.window_start} for k, v in latest.items()},
                    "windows": [{"start": r.window_start, "end": r.window_end,
                                 "rows": r.summary.get("rows"),
                                 "drift_share": (r.summary.get("drift") or {}).get(
                                     "drift_share"),
                                 "label_coverage": ((r.summary.get("performance") or {})
                                                    .get("overall") or {}).get("coverage")}
                                for r in results],
                    "alerts": alerts})
        return
    print_table(f"Monitor {name}", ["field", "value"], [
        ["model", m.model_uri], ["window", f"{m.window_seconds}s"], ["enabled", m.enabled],
        ["last window end", m.last_window_end], ["webhooks", ", ".join(m.webhooks)],
        *[["rule", r] for r in m.rules]])
    headline = [k for k in ("rows", "drift_share", "prediction_drift_share", "label_coverage",
                            "accuracy", "auc", "f1", "rmse", "quality.issues")
                if k in latest]
    print_table("Latest values", ["key", "value", "window"],
                [[k, latest[k].value, latest[k].window_start] for k in headline])
    print_table("Windows", ["start", "rows", "drift share", "coverage"], [
        [r.window_start, r.summary.get("rows"),
         (r.summary.get("drift") or {}).get("drift_share"),
         ((r.summary.get("performance") or {}).get("overall") or {}).get("coverage")]
        for r in results])
    _alerts_table(alerts)


@monitor.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Delete a monitor with its results and alerts."""
    get_client().monitoring.delete_monitor(name)
    click.echo(f"Deleted monitor {name}.")


@monitor.command("run")
@click.argument("name", required=False)
@click.option("--every", default=None, help="Keep running, once per interval (5m).")
@click.option("--now", "now_", default=None, help="Evaluate as if it were this ISO time.")
@click.option("--iterations", type=int, default=None, hidden=True)
@json_option
def run(name: str | None, every: str | None, now_: str | None, iterations: int | None,
        as_json: bool) -> None:
    """Evaluate due windows of NAME (or every enabled monitor) and send alerts."""
    from shipyard.monitoring import parse_duration

    interval = parse_duration(every, what="--every") if every else None
    service = get_client().monitoring
    done = 0
    try:
        while True:
            outcomes = service.run(name, now=_when(now_))
            _print_outcomes(outcomes, as_json)
            done += 1
            if interval is None or (iterations is not None and done >= iterations):
                break
            time.sleep(interval - time.time() % interval)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    failed = [o for o in outcomes if o.error]
    if failed and interval is None:
        raise SystemExit(1)


def _print_outcomes(outcomes: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([{"monitor": o.monitor, "windows": [[s, e] for s, e in o.windows],
                     "refreshed": o.refreshed, "error": o.error,
                     "rules": [{"rule": r.rule, "firing": r.firing, "value": r.value,
                                "detail": r.detail} for r in o.rules],
                     "alerts": o.alerts} for o in outcomes])
        return
    for o in outcomes:
        if o.error:
            click.secho(f"{o.monitor}: failed: {o.error}", fg="red", err=True)
            continue
        firing = [r.rule for r in o.rules if r.firing]
        click.echo(f"{o.monitor}: {len(o.windows)} window(s) evaluated, "
                   f"{len(o.refreshed)} refreshed with late labels; "
                   f"firing: {', '.join(firing) if firing else 'none'}")


@monitor.command("alerts")
@click.argument("name", required=False)
@click.option("--state", type=click.Choice(["firing", "resolved"]), default=None)
@click.option("-n", "--max-results", default=100, show_default=True)
@json_option
def alerts(name: str | None, state: str | None, max_results: int, as_json: bool) -> None:
    """Alert history, newest first (one monitor or all)."""
    items = get_client().monitoring.list_alerts(name, state=state, max_results=max_results)
    if as_json:
        print_json(items)
        return
    _alerts_table(items)


def _alerts_table(items: list[Any]) -> None:
    print_table("Alerts", ["id", "monitor", "rule", "state", "value", "window", "fired",
                           "resolved", "sent"],
                [[a.id, a.monitor, a.rule, a.state, a.value, a.window_start, a.fired_at,
                  a.resolved_at, a.notifications] for a in items])


@monitor.command("report")
@click.option("--reference", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Reference data (.parquet/.csv/.jsonl) or a profile .json.")
@click.option("--current", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Current data (.parquet/.csv/.jsonl).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="HTML report to write.")
@click.option("--json-out", default=None, type=click.Path(dir_okay=False),
              help="Also write the report as JSON.")
@click.option("--column", "columns", multiple=True, help="Compare only these columns.")
@click.option("--categorical", multiple=True, help="Treat this column as categorical.")
@click.option("--method", default="auto", show_default=True,
              help="auto|ks|wasserstein|psi|js|chi2 for every column.")
@click.option("--title", default="Shipyard drift report", show_default=True)
def report(reference: str, current: str, out: str, json_out: str | None,
           columns: tuple[str, ...], categorical: tuple[str, ...], method: str,
           title: str) -> None:
    """Drift and data quality of CURRENT against REFERENCE as a self-contained HTML file."""
    from shipyard.monitoring import DriftReport, monitoring_report

    rep = monitoring_report(reference, current, title=title, method=method,
                            columns=list(columns) or None, categorical=list(categorical))
    rep.save(out)
    if json_out:
        from pathlib import Path

        Path(json_out).write_text(rep.to_json(indent=1), encoding="utf-8")
    drift = rep.drift
    assert isinstance(drift, DriftReport)  # monitoring_report always computes a DriftReport
    click.echo(f"{len(drift.drifted_columns)} of {len(drift.compared)} columns drifted "
               f"(share {fmt(drift.drift_share)}): {', '.join(drift.drifted_columns) or '-'}")
    click.echo(f"wrote {out}" + (f" and {json_out}" if json_out else ""))


@monitor.command("feedback")
@click.argument("model")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def feedback(model: str, path: str) -> None:
    """Import labels for MODEL's predictions from a file (request_id, label[, row,
    timestamp]); they are joined to the predictions on the next `monitor run`."""
    keys = get_client().monitoring.log_feedback(model, path)
    click.echo(f"wrote {len(keys)} feedback file(s)")


COMMANDS = [monitor]

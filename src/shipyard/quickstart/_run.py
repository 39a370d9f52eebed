"""``shipyard quickstart``: the whole lifecycle on embedded defaults, in one command.

data -> tracked training and a sweep -> registry with a promotion gate -> the server and UI
-> a model server -> production traffic with drift and late labels -> a monitor that detects
drift and the performance drop, alerts a local webhook, and writes an HTML report.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shipyard.quickstart._data import DRIFTED, FEATURES, TARGET, make_churn, production_batch, split
from shipyard.quickstart._services import Service, WebhookReceiver, free_port, start
from shipyard.quickstart._train import train_candidates

MODEL = "churn"
MONITOR = "churn-production"
RULES = ("metrics.val_auc >= champion.metrics.val_auc + 0.002", "metrics.latency_ms < 250")
MONITOR_RULES = ("drift_share > 0.25", "auc < 0.70")
ROWS_PER_REQUEST = 10
REQUESTS_PER_PHASE = 40


@dataclass
class Timeline:
    say: Callable[[str], None]
    start: float = field(default_factory=time.perf_counter)
    steps: dict[str, float] = field(default_factory=dict)

    def step(self, n: int, title: str) -> None:
        self.say(f"\n[{n}/7] {title}  (+{time.perf_counter() - self.start:.1f}s)")

    def done(self, name: str) -> None:
        self.steps[name] = round(time.perf_counter() - self.start, 2)


def _register_and_promote(client: Any, candidates: list[Any], tl: Timeline) -> dict[str, Any]:
    """Register the plain candidates and the sweep's best; promote through the gate."""
    from shipyard.errors import PromotionRejectedError

    registry = client.registry
    hgb = max((c for c in candidates if c.name.startswith("hgb")), key=lambda c: c.val_auc)
    chosen = sorted([*(c for c in candidates if not c.name.startswith("hgb")), hgb],
                    key=lambda c: c.val_auc)
    versions = {}
    for cand in chosen:
        mv = registry.create_model_version(MODEL, run_id=cand.run_id, artifact_path="model",
                                           description=f"{cand.name} from the quickstart")
        versions[cand.name] = mv.version
        tl.say(f"  registered {MODEL} version {mv.version}: {cand.name} "
               f"(val AUC {cand.val_auc:.4f})")
    registry.set_alias(MODEL, "champion", versions[chosen[0].name],
                       reason="baseline: the first model registered")
    gates = []
    for cand in chosen[1:]:
        registry.set_alias(MODEL, "challenger", versions[cand.name], reason="next candidate")
        try:
            result = registry.promote(MODEL, to="champion", from_alias="challenger",
                                      rules=list(RULES), reason="quickstart promotion gate")
            outcome, rows = "promoted", result.results
        except PromotionRejectedError as exc:
            outcome, rows = "rejected", exc.results
        gates.append({"candidate": cand.name, "version": versions[cand.name],
                      "outcome": outcome,
                      "rules": [{"rule": r.rule, "passed": r.passed, "left": r.left,
                                 "right": r.right} for r in rows]})
        tl.say(f"  gate for version {versions[cand.name]} ({cand.name}): {outcome.upper()}")
        for r in rows:
            left = "-" if r.left is None else f"{r.left:.4f}"
            right = "-" if r.right is None else f"{r.right:.4f}"
            tl.say(f"    {'PASS' if r.passed else 'FAIL'}  {r.rule:<52} {left:>8} vs {right}")
    champion = registry.get_version_by_alias(MODEL, "champion")
    tl.say(f"  champion is now version {champion.version} "
           f"(val AUC {champion.metrics.get('val_auc', float('nan')):.4f})")
    return {"versions": versions, "gates": gates, "champion": champion.version}


def _traffic(model_url: str, *, drift: bool, seed: int, model: Any,
             sent: list[dict[str, Any]]) -> tuple[int, float]:
    """Send one phase of production traffic; check answers against in-process predictions."""
    import httpx
    import numpy as np

    rows = production_batch(REQUESTS_PER_PHASE * ROWS_PER_REQUEST, seed, drift=drift)
    worst = 0.0
    with httpx.Client(base_url=model_url, timeout=30) as http:
        for i in range(REQUESTS_PER_PHASE):
            chunk = rows.iloc[i * ROWS_PER_REQUEST:(i + 1) * ROWS_PER_REQUEST]
            rid = uuid.uuid4().hex
            records = json.loads(chunk[list(FEATURES)].to_json(orient="records"))
            resp = http.post(f"/v1/models/{MODEL}/predict_proba", json=records,
                             headers={"X-Request-ID": rid})
            resp.raise_for_status()
            served = np.asarray(resp.json()["probabilities"], dtype=float)
            local = model.predict_proba(chunk[list(FEATURES)])
            worst = max(worst, float(np.max(np.abs(served - np.asarray(local)))))
            sent.append({"request_id": rid, "labels": [int(v) for v in chunk[TARGET]],
                         "drift": drift})
    return len(rows), worst


def _send_feedback(model_url: str, sent: list[dict[str, Any]], share: float) -> int:
    """Late labels: a share of the requests get their ground truth, out of order."""
    import random

    import httpx

    rnd = random.Random(11)  # noqa: S311 - a reproducible sample, not a secret
    chosen = [s for s in sent if rnd.random() < share]
    rnd.shuffle(chosen)
    with httpx.Client(base_url=model_url, timeout=30) as http:
        for i in range(0, len(chosen), 20):
            batch = [{"model": MODEL, "request_id": s["request_id"], "labels": s["labels"]}
                     for s in chosen[i:i + 20]]
            http.post("/v1/feedback", json=batch).raise_for_status()
    return len(chosen)


def _wait_for_logs(client: Any, start: datetime, end: datetime, *, rows: int,
                   labelled: int, timeout: float = 60.0) -> None:
    """The model server writes its prediction log in the background: wait until every row
    of both windows is readable before the monitor runs."""
    from shipyard.monitoring import read_log

    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = len(read_log(client.artifacts, "predictions", MODEL, start_ms, end_ms,
                           columns=["request_id", "timestamp"]))
        labels = len(read_log(client.artifacts, "feedback", MODEL, start_ms,
                              end_ms + 3_600_000, columns=["request_id", "timestamp"]))
        if got >= rows and labels >= labelled:
            return
        time.sleep(0.5)


def _wait_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def run_quickstart(*, say: Callable[[str], None], keep_serving: bool = False,
                   window_seconds: float = 8.0) -> dict[str, Any]:
    """Run the seven steps; returns (and saves as <home>/quickstart.json) what happened."""
    import shipyard
    from shipyard.client import Client

    tl = Timeline(say)
    client = Client()
    home = client.settings.home_path
    summary: dict[str, Any] = {"home": str(home)}
    services: list[Service] = []
    receiver = WebhookReceiver()
    try:
        tl.step(1, "Dataset: a deterministic customer-churn table")
        frame = make_churn()
        train, val, test = split(frame)
        say(f"  {len(frame)} customers, {len(FEATURES)} features "
            f"({', '.join(FEATURES)}), churn rate {frame[TARGET].mean():.1%}")
        say(f"  split: {len(train)} train / {len(val)} validation / {len(test)} test")
        ui_port = free_port()
        env = {"SHIPYARD_SERVE_LOG_FLUSH_INTERVAL": "0.5"}
        ui = start("Shipyard server", ["server", "--host", "127.0.0.1", "--port", str(ui_port)],
                   port=ui_port, home=home, env=env)
        services.append(ui)
        tl.done("data")

        tl.step(2, "Training 3 candidates and a 4-trial sweep (nested runs), all tracked")
        candidates = train_candidates(train, val, test, say)
        summary["runs"] = {c.name: c.run_id for c in candidates}
        tl.done("training")

        tl.step(3, f"Registry: versions of {MODEL!r} and a promotion gate to 'champion'")
        summary["registry"] = _register_and_promote(client, candidates, tl)
        tl.done("registry")

        tl.step(4, "Starting the model server for models:/churn@champion")
        model_port = free_port()
        served = start("model server", ["serve", f"models:/{MODEL}@champion", "--host",
                                        "127.0.0.1", "--port", str(model_port),
                                        "--reload-interval", "2"],
                       port=model_port, home=home, env=env)
        services.append(served)
        served.wait_ready("/ready")
        ui.wait_ready("/health")
        say(f"  model server {served.url}  (UI and API at {ui.url})")
        tl.done("servers")

        tl.step(5, "Production traffic over HTTP; drift injected in the second window")
        champion = shipyard.load_model(f"models:/{MODEL}@champion").native
        sent: list[dict[str, Any]] = []
        begin = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        _wait_until(begin)
        n1, err1 = _traffic(served.url, drift=False, seed=101, model=champion, sent=sent)
        # Windows are sized from how long a phase took here, so a slow machine still puts
        # each phase in its own window.
        took = (datetime.now(UTC) - begin).total_seconds()
        seconds = max(int(window_seconds), int(2 * took) + 2)
        step = timedelta(seconds=seconds)
        client.monitoring.create_monitor(
            MONITOR, model=f"models:/{MODEL}@champion", window=f"{seconds}s",
            rules=list(MONITOR_RULES), webhooks=[receiver.url], start=begin,
            cooldown_seconds=3600)
        say(f"  window 1 ({seconds}s): {n1} rows in {REQUESTS_PER_PHASE} requests, no drift")
        _wait_until(begin + step)
        n2, err2 = _traffic(served.url, drift=True, seed=202, model=champion, sent=sent)
        say(f"  window 2 ({seconds}s): {n2} rows; monthly_charges +30, contract mix -> "
            "month-to-month, and churn now follows different signals")
        labelled = _send_feedback(served.url, sent, share=0.7)
        say(f"  late ground truth for {labelled} of {len(sent)} requests, out of order")
        summary["traffic"] = {"rows": n1 + n2, "requests": len(sent), "labelled": labelled,
                              "max_abs_diff_vs_in_process": max(err1, err2),
                              "window_seconds": seconds}
        _wait_until(begin + 2 * step + timedelta(seconds=0.5))
        _wait_for_logs(client, begin, begin + 2 * step, rows=n1 + n2, labelled=labelled)
        tl.done("traffic")

        tl.step(6, "Monitoring: drift, data quality and performance with late labels")
        outcomes = client.monitoring.run(MONITOR, now=begin + 2 * step + timedelta(seconds=0.5))
        values = client.monitoring.get_values(MONITOR)
        windows = _window_table(values)
        for w in windows:
            say(f"  window {w['index']}: drift_share {w.get('drift_share', 0):.2f}  "
                f"AUC {_f(w.get('auc'))}  label coverage {_f(w.get('label_coverage'))}  "
                f"drifted: {', '.join(w['drifted']) or '-'}")
        alerts = client.monitoring.list_alerts(MONITOR)
        deadline = time.monotonic() + 30  # delivery runs in the background, with retries
        while len(receiver.received) < len(alerts) and time.monotonic() < deadline:
            time.sleep(0.2)
        for a in alerts:
            say(f"  ALERT {a.state}: {a.rule} (value {_f(a.value)})")
        say(f"  webhook receiver got {len(receiver.received)} message(s)")
        report = _write_report(home, train, sent, begin, step)
        say(f"  HTML report: {report}")
        summary["monitoring"] = {
            "windows": windows, "alerts": [{"rule": a.rule, "state": str(a.state),
                                            "value": a.value} for a in alerts],
            "webhook_messages": receiver.received, "report": str(report),
            "outcomes": [str(o) for o in outcomes], "drift_truth": list(DRIFTED)}
        tl.done("monitoring")

        tl.step(7, "Done: where to look")
        best_run = client.registry.get_version_by_alias(MODEL, "champion").run_id
        links = {
            "ui": ui.url + "/", "run": f"{ui.url}/runs/{best_run}",
            "model": f"{ui.url}/models/{MODEL}", "monitor": f"{ui.url}/monitors/{MONITOR}",
            "predict": f"{served.url}/v1/models/{MODEL}/predict",
            "metrics": f"{served.url}/metrics", "report": report.as_uri()}
        summary["links"] = links
        for name, url in links.items():
            say(f"  {name:<8} {url}")
        say("  CLI:     shipyard runs list -e churn -o 'metrics.val_auc DESC'   "
            "shipyard models show churn   shipyard monitor alerts")
        summary["seconds"] = round(time.perf_counter() - tl.start, 1)
        summary["steps"] = tl.steps
        (home / "quickstart.json").write_text(json.dumps(summary, indent=2, default=str))
        say(f"\nSteps 1-6 took {tl.steps['monitoring']:.1f}s; summary in "
            f"{home / 'quickstart.json'}")
        if keep_serving:
            say("Serving until Ctrl-C ...")
            try:
                while all(s.process.poll() is None for s in services):
                    time.sleep(1)
            except KeyboardInterrupt:
                say("stopping")
        return summary
    finally:
        for svc in services:
            svc.stop()
        receiver.close()
        client.close()


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _window_table(values: Any) -> list[dict[str, Any]]:
    """Per window: headline values and the drifted columns, from the stored time series."""
    by_start: dict[Any, dict[str, Any]] = {}
    for v in values:
        row = by_start.setdefault(v.window_start, {"drifted": []})
        if v.key.startswith("drift.") and v.key.endswith(".drifted") and v.value:
            row["drifted"].append(v.key.split(".")[1])
        elif v.key in ("drift_share", "auc", "accuracy", "label_coverage", "rows"):
            row[v.key] = v.value
    out = []
    for i, begin in enumerate(sorted(by_start), 1):
        out.append({"index": i, "window_start": str(begin), **by_start[begin]})
    return out


def _write_report(home: Path, train: Any, sent: list[dict[str, Any]], begin: datetime,
                  step: timedelta) -> Path:
    """The self-contained HTML report of the drifted window against the training data."""
    from shipyard.monitoring import monitoring_report

    current = production_batch(REQUESTS_PER_PHASE * ROWS_PER_REQUEST, 202, drift=True)
    report = monitoring_report(train[list(FEATURES)], current[list(FEATURES)],
                               title="Quickstart: churn model, drifted window")
    path = home / "reports" / "quickstart-drift.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    report.save(path)
    return path

"""Realistic data for the UI tests and screenshots, written through the library.

Experiments with a hyper-parameter sweep (a parent run with children, metric histories,
system metrics, many params, datasets, and artifacts of every previewable kind including a
real scikit-learn model package), a registered model with versions, aliases and promotion
gates that passed and failed, three model servers (live, stale, stopped) with heartbeat
history, and a monitor with a day of hourly windows computed by the real drift and quality
reports, with alerts.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shipyard.entities._ids import utc_now
from shipyard.entities.monitoring import Monitor, MonitorResult
from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample
from shipyard.entities.tracking import DatasetInput, RunContext

PASSWORD = "correct horse battery"
USERS = {"ada": "admin", "eve": "editor", "vic": "viewer"}
SWEEP = 24
TIMINGS: dict[str, float] = {}


@dataclass
class Seeded:
    experiment_id: str = ""
    other_experiment_id: str = ""
    private_experiment_id: str = ""
    parent_id: str = ""
    run_ids: list[str] = field(default_factory=list)
    best_run_id: str = ""
    model: str = "churn"
    monitor: str = "churn-drift"


def _png(values: list[float], width: int = 240, height: int = 140) -> bytes:
    """A small line chart as PNG bytes (no plotting library: zlib + the PNG chunk format)."""
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    lo, hi = min(values), max(values)
    for x in range(width):
        v = values[min(len(values) - 1, x * len(values) // width)]
        y = int((height - 11) - (v - lo) / ((hi - lo) or 1) * (height - 21))
        for dy in (-1, 0, 1):
            pixels[max(0, min(height - 1, y + dy))][x] = (31, 111, 235)
    for x in range(width):
        pixels[height - 10][x] = (120, 120, 120)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _artifacts(client: Any, run_id: str, rng: random.Random, losses: list[float]) -> None:
    import pandas as pd

    t = client.tracking
    t.log_bytes(run_id, _png(losses), "plots/loss.png")
    t.log_dict(run_id, {"auc": 0.91, "threshold": 0.42, "classes": ["stay", "churn"]},
               "metrics.json")
    t.log_text(run_id, "label,predicted_stay,predicted_churn\nstay,812,41\nchurn,57,190\n",
               "eval/confusion.csv")
    t.log_text(run_id, "Training finished after 50 epochs.\nBest epoch: 42\n", "logs/train.log")
    t.log_text(run_id, "<!doctype html><title>r</title><h1>Evaluation report</h1>"
                       "<p>AUC 0.91</p>", "eval/report.html")
    frame = pd.DataFrame({"customer_id": range(500),
                          "tenure": [rng.randint(1, 72) for _ in range(500)],
                          "churn_probability": [round(rng.random(), 4) for _ in range(500)]})
    t.log_table(run_id, frame, "eval/predictions.parquet")


def _train_model(client: Any, run_id: str, rng: random.Random) -> Any:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    n = 400
    x = pd.DataFrame({"tenure": np.array([rng.uniform(1, 72) for _ in range(n)]),
                      "monthly_charges": np.array([rng.uniform(20, 120) for _ in range(n)]),
                      "support_calls": np.array([float(rng.randint(0, 9)) for _ in range(n)])})
    y = (x["support_calls"] * 8 + x["monthly_charges"] / 3 - x["tenure"] > 20).astype(int)
    model = LogisticRegression(max_iter=200).fit(x, y)
    client.models.log_model(run_id, model, name="model", input_example=x.head(20),
                            reference_data=x)
    return x


def _sweep(client: Any, seeded: Seeded, rng: random.Random) -> None:
    t = client.tracking
    exp = t.create_experiment("churn", description="Customer churn classifier: a sweep of "
                              "gradient-boosting and random-forest models.",
                              tags={"team": "growth"})
    seeded.experiment_id = exp.id
    ctx = RunContext(user="ada", source="train.py", git_commit="3f9c2e1a7b5d4c6e8f0a",
                     git_dirty=False, python_version="3.11.7",
                     packages={"scikit-learn": "1.5.0", "pandas": "2.2.2"})
    start = utc_now() - timedelta(days=2)
    parent = t.create_run(experiment_id=exp.id, name="sweep-2026-11", context=ctx,
                          start_time=start, tags={"kind": "sweep"})
    seeded.parent_id = parent.id
    datasets = [DatasetInput(name="churn-train", digest="9a1c4be0d2f7a3e1", source=
                             "s3://data/churn/train.parquet", schema={
                                 "tenure": "int64", "monthly_charges": "float64",
                                 "support_calls": "int64", "churned": "bool"},
                             num_rows=120_000, context="training"),
                DatasetInput(name="churn-valid", digest="47d0e2c91ab35f68",
                             source="s3://data/churn/valid.parquet", num_rows=30_000,
                             context="validation")]
    best = (-1.0, "")
    for i in range(SWEEP):
        model = "gbm" if i % 3 else "rf"
        lr = round(0.01 * (1 + i % 6), 3)
        depth = 3 + i % 5
        run = t.create_run(experiment_id=exp.id, name=f"{model}-lr{lr}-d{depth}",
                           parent_id=parent.id, context=ctx,
                           start_time=start + timedelta(minutes=7 * i),
                           tags={"model_family": model, "shipyard.note": "hidden"})
        quality = 1 - abs(lr - 0.03) * 4 - abs(depth - 5) * 0.02 + rng.uniform(-0.02, 0.02)
        auc = round(min(0.97, 0.80 + 0.15 * quality), 4)
        params: dict[str, Any] = {"model": model, "learning_rate": lr, "max_depth": depth,
                                  "n_estimators": 100 + 50 * (i % 4), "subsample": 0.8,
                                  "seed": 1000 + i, "class_weight": "balanced",
                                  "features": "v3", "early_stopping": i % 2 == 0}
        params.update({f"feature_flag_{k:02d}": k % 2 == 0 for k in range(12)})
        t0 = start + timedelta(minutes=7 * i)
        points = []
        losses = []
        for step in range(50):
            train = 0.7 * math.exp(-step * lr * 3) + 0.15 + rng.uniform(0, 0.01)
            val = train + 0.02 + 0.0004 * max(0, step - 30) * depth
            losses.append(val)
            ts = t0 + timedelta(seconds=6 * step)
            points += [t.make_metric("train/loss", train, step, ts),
                       t.make_metric("val/loss", val, step, ts)]
        for step in range(12):
            ts = t0 + timedelta(seconds=25 * step)
            points += [t.make_metric("system/cpu_percent", 55 + rng.uniform(-20, 30), step, ts),
                       t.make_metric("system/memory_percent", 31 + step * 0.8, step, ts)]
        points += [t.make_metric("auc", auc, 49, t0 + timedelta(minutes=5)),
                   t.make_metric("accuracy", round(auc - 0.07, 4), 49, t0 + timedelta(
                       minutes=5)),
                   t.make_metric("f1", round(auc - 0.12, 4), 49, t0 + timedelta(minutes=5))]
        t.log_batch(run.id, metrics=points, params=params)
        t.log_inputs(run.id, datasets)
        status = "failed" if i == 7 else "finished"
        t.update_run(run.id, status=status, end_time=t0 + timedelta(minutes=5, seconds=i),
                     error="ValueError: NaN in support_calls" if i == 7 else None)
        seeded.run_ids.append(run.id)
        if status == "finished" and auc > best[0]:
            best = (auc, run.id)
    t.update_run(parent.id, status="finished", end_time=start + timedelta(hours=3))
    seeded.best_run_id = best[1]
    _artifacts(client, best[1], rng, [0.5 / (s + 1) + 0.2 for s in range(50)])
    running = t.create_run(experiment_id=exp.id, name="gbm-live", context=ctx)
    t.log_batch(running.id, metrics=[t.make_metric("train/loss", 0.9 - s * 0.01, s)
                                     for s in range(20)], params={"model": "gbm"})
    seeded.run_ids.append(running.id)


def _registry(client: Any, seeded: Seeded, rng: random.Random) -> None:
    from shipyard.errors import PromotionRejectedError

    reg = client.registry
    ids = [r for r in seeded.run_ids[:6] if r not in (seeded.run_ids[7], seeded.best_run_id)]
    ids = [*ids[:3], seeded.best_run_id]
    for run_id in ids:
        _train_model(client, run_id, rng)
        reg.create_model_version(seeded.model, run_id=run_id, actor="ada",
                                 description="logistic baseline")
    reg.set_alias(seeded.model, "champion", 1, actor="ada", reason="first model")
    reg.set_alias(seeded.model, "challenger", 4, actor="eve")
    reg.promote(seeded.model, to="champion", version=2, actor="ada", reason="better recall",
                rules=["version >= 2"])
    with contextlib.suppress(PromotionRejectedError):
        reg.promote(seeded.model, to="champion", version=3, actor="eve",
                    rules=["metrics.auc >= champion.metrics.auc + 0.5", "version > 1"])
    reg.promote(seeded.model, to="champion", from_alias="challenger", actor="ada",
                rules=["metrics.auc >= champion.metrics.auc - 0.1"], reason="weekly retrain")


def _samples(end: Any, minutes: int, *, base: float, spike: range) -> list[DeploymentSample]:
    """One heartbeat sample a minute up to ``end``: a daily-looking load curve, and an error
    and latency spike during ``spike`` (minute indexes)."""
    out = []
    for k in range(minutes):
        hot = k in spike
        requests = int(60 * (base + base / 3 * math.sin(k / 6)))
        out.append(DeploymentSample(
            at=end - timedelta(minutes=minutes - 1 - k), seconds=60.0, requests=requests,
            errors=3 + (25 if hot else 0) + k % 2, p50_ms=round(4.1 + math.sin(k / 5), 3),
            p95_ms=round(11 + 2 * math.sin(k / 4), 3),
            p99_ms=round(19 + (30 if hot else 3 * math.sin(k / 3)), 3)))
    return out


def _deployments(client: Any, seeded: Seeded, rng: random.Random) -> None:
    store = client.serving.store
    now = utc_now().replace(microsecond=0)
    live_history = _samples(now, 60, base=20, spike=range(40, 44))
    stale_end = now - timedelta(minutes=20)
    stale_history = _samples(stale_end, 40, base=1.5, spike=range(0))
    live = Deployment(id="a" * 32, url="http://10.0.0.12:8080", host="serve-1", pid=4242,
                      models=(DeployedModel(name="churn", version=4,
                                            uri="models:/churn@champion"),),
                      started_at=now - timedelta(hours=1), heartbeat_at=now,
                      stats={"requests": sum(s.requests for s in live_history),
                             "errors": sum(s.errors for s in live_history), "rows": 91_234,
                             "latency_ms": {"p50": 4.3, "p95": 11.8, "p99": 21.0}})
    stale = Deployment(id="b" * 32, url="http://10.0.0.13:8080", host="serve-2", pid=977,
                       models=(DeployedModel(name="churn", version=3,
                                             uri="models:/churn@challenger"),),
                       started_at=now - timedelta(hours=5),
                       heartbeat_at=stale_end,
                       stats={"requests": 5120, "errors": 12, "rows": 5120,
                              "latency_ms": {"p50": 3.9, "p95": 10.5, "p99": 18.2}})
    stopped = Deployment(id="c" * 32, url="http://10.0.0.14:8080", host="serve-3", pid=51,
                         models=(DeployedModel(name="churn", version=2,
                                               uri="models:/churn/2"),),
                         started_at=now - timedelta(days=1),
                         heartbeat_at=now - timedelta(hours=20),
                         stopped_at=now - timedelta(hours=20), stats={"requests": 10})
    for dep in (live, stale, stopped):
        store.create_deployment(dep)
        if dep.stopped_at:
            store.stop_deployment(dep.id, at=dep.stopped_at)
    for dep, history in ((live, live_history), (stale, stale_history)):
        for sample in history:
            store.heartbeat_deployment(dep.id, at=dep.heartbeat_at, sample=sample)


def _monitoring(client: Any, seeded: Seeded, rng: random.Random) -> None:
    import numpy as np
    import pandas as pd

    from shipyard.monitoring import ReferenceProfile, drift_report, quality_report

    store = client.monitoring.store
    gen = np.random.default_rng(7)
    n_ref = 3000
    reference = pd.DataFrame({
        "tenure": gen.uniform(1, 72, n_ref), "monthly_charges": gen.normal(65, 20, n_ref),
        "support_calls": gen.poisson(2, n_ref).astype(float),
        "plan": gen.choice(["basic", "plus", "pro"], n_ref, p=[0.5, 0.3, 0.2])})
    profile = ReferenceProfile.from_data(reference)
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=24)
    monitor = Monitor(name=seeded.monitor, model_uri="models:/churn@champion",
                      window_seconds=3600, rules=("drift_share > 0.3", "auc < 0.8"),
                      created_at=start, created_by="ada")
    store.create_monitor(monitor)
    for h in range(24):
        shift = max(0, h - 15) / 8  # drift grows over the last hours
        n = 500 + int(200 * math.sin(h / 4))
        cur = pd.DataFrame({
            "tenure": gen.uniform(1, 72 - 40 * shift, n),
            "monthly_charges": gen.normal(65 + 25 * shift, 20, n),
            "support_calls": gen.poisson(2 + 3 * shift, n).astype(float),
            "plan": gen.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])})
        if h >= 20:
            cur.loc[: n // 4, "monthly_charges"] = np.nan
        drift = drift_report(profile, cur)
        quality = quality_report(cur, reference=profile, expected_rows=500)
        labelled = int(n * min(1.0, 0.2 + (23 - h) * 0.04))
        auc = 0.9 - 0.12 * shift + rng.uniform(-0.01, 0.01)
        w0 = start + timedelta(hours=h)
        perf = {"kind": "performance", "task": "classification",
                "overall": {"start": None, "end": None, "predictions": n, "labelled": labelled,
                            "coverage": labelled / n,
                            "metrics": {"auc": auc, "accuracy": auc - 0.08}},
                "windows": [], "validation": {"auc": 0.91}, "deltas": {"auc": auc - 0.91},
                "min_labels": 50}
        summary = {"window": {"start": int(w0.timestamp() * 1000)}, "rows": n,
                   "model": {"uri": monitor.model_uri, "version": 4, "versions": {"4": n}},
                   "drift": json.loads(drift.to_json()), "quality": json.loads(
                       quality.to_json()), "performance": perf}
        values: dict[str, float | None] = {"rows": float(n), **drift.values(),
                                           **quality.values(), "label_coverage": labelled / n,
                                           "labelled": float(labelled), "auc": auc,
                                           "accuracy": auc - 0.08}
        store.log_monitor_result(MonitorResult(monitor=seeded.monitor, window_start=w0,
                                               window_end=w0 + timedelta(hours=1),
                                               computed_at=w0 + timedelta(hours=1, minutes=2),
                                               summary=summary), values)
    resolved = store.create_alert(monitor=seeded.monitor, rule="auc < 0.8", value=0.78,
                                  window_start=start + timedelta(hours=9),
                                  window_end=start + timedelta(hours=10),
                                  fired_at=start + timedelta(hours=10, minutes=2))
    from shipyard.entities.monitoring import AlertState

    store.update_alert(resolved.id, state=AlertState.RESOLVED,
                       resolved_at=start + timedelta(hours=12), notifications=2)
    store.create_alert(monitor=seeded.monitor, rule="drift_share > 0.3", value=0.75,
                       window_start=start + timedelta(hours=21),
                       window_end=start + timedelta(hours=22),
                       fired_at=start + timedelta(hours=22, minutes=2))


def _others(client: Any, seeded: Seeded, rng: random.Random) -> None:
    t = client.tracking
    other = t.create_experiment("fraud-detection", description="Card fraud, weekly retrain.")
    seeded.other_experiment_id = other.id
    for i in range(3):
        run = t.create_run(experiment_id=other.id, name=f"xgb-{i}")
        t.log_batch(run.id, params={"eta": 0.1 * (i + 1)},
                    metrics=[t.make_metric("pr_auc", 0.6 + 0.05 * i)])
        t.end_run(run.id)
    private = t.create_experiment("secret-project")
    seeded.private_experiment_id = private.id
    run = t.create_run(experiment_id=private.id, name="hidden-run")
    t.end_run(run.id)
    auth = client.auth
    for name, role in USERS.items():
        auth.create_user(name, role=role, password=PASSWORD)
    admin = auth.policy(auth.get_user("ada"))
    auth.grant(admin, private.id, "eve", "edit")  # private: only eve (and admins) see it


def seed(client: Any) -> Seeded:
    rng = random.Random(42)
    seeded = Seeded()
    for step in (_sweep, _others, _registry, _deployments, _monitoring):
        t0 = time.perf_counter()
        step(client, seeded, rng)
        TIMINGS[step.__name__] = time.perf_counter() - t0
    return seeded


def as_json(seeded: Seeded) -> str:
    buf = io.StringIO()
    json.dump(seeded.__dict__, buf)
    return buf.getvalue()

"""Monitoring test helpers: a registered model with a reference profile, a prediction-log
writer in the serving layout, and a real HTTP receiver on loopback for alert webhooks."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def features(n: int, rng: np.random.Generator, *, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"age": rng.normal(40 + shift, 10, n),
                         "income": rng.lognormal(10, 0.5, n),
                         "city": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])})


@dataclass
class Churn:
    client: Any
    model: Any
    version: int
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(11))

    def log_hour(self, start: datetime, n: int, *, shift: float = 0.0, labels: float = 0.0,
                 version: int | None = None, label_delay: timedelta = timedelta(minutes=1),
                 prefix: str = "r") -> pd.DataFrame:
        """Write ``n`` predictions spread over the hour after ``start`` (and feedback for a
        ``labels`` share of them, ``label_delay`` later)."""
        from shipyard.monitoring import write_log

        x = features(n, self.rng, shift=shift)
        proba = self.model.predict_proba(x[["age", "income"]])[:, 1]
        ts = int(start.timestamp() * 1000) + np.arange(n) * (3_600_000 // max(n, 1))
        frame = pd.DataFrame({
            "request_id": [f"{prefix}{start:%d%H}-{i}" for i in range(n)], "row": 0,
            "model": "churn", "version": version or self.version,
            "timestamp": pd.to_datetime(ts, unit="ms", utc=True), "latency_ms": 1.5,
            **{f"input.{c}": x[c] for c in x.columns},
            "output.prediction": (proba > 0.5).astype(int),
            "output.proba_0": 1 - proba, "output.proba_1": proba})
        write_log(self.client.artifacts, "predictions", "churn", frame)
        k = int(n * labels)
        if k:
            truth = (x["age"] + self.rng.normal(0, 5, n) > 40).astype(int)
            self.label(frame.iloc[:k], truth[:k], at=start + label_delay)
        return frame

    def label(self, frame: pd.DataFrame, truth: Any, *, at: datetime) -> None:
        from shipyard.monitoring import write_log

        fb = pd.DataFrame({"request_id": frame["request_id"].to_numpy(), "row": 0,
                           "label": [str(int(v)) for v in truth],
                           "timestamp": int(at.timestamp() * 1000)})
        write_log(self.client.artifacts, "feedback", "churn", fb)


@pytest.fixture(scope="session")
def churn_template(tmp_path_factory: pytest.TempPathFactory,
                   migrated_sqlite: Path) -> tuple[Path, Any, int]:
    """A home folder holding models:/churn@champion (a logistic regression with a reference
    profile and val_auc 0.9), built once per worker and copied into each test."""
    from sklearn.linear_model import LogisticRegression

    from shipyard.client import Client

    home = tmp_path_factory.mktemp("churn") / ".shipyard"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    rng = np.random.default_rng(0)
    x = features(3000, rng)
    y = (x["age"] + rng.normal(0, 5, 3000) > 40).astype(int)
    model = LogisticRegression().fit(x[["age", "income"]], y)
    with Client(home=home) as client:
        exp = client.tracking.get_or_create_experiment("churn")
        run = client.tracking.create_run(experiment_id=exp.id)
        client.tracking.log_metric(run.id, "val_auc", 0.9)
        client.models.log_model(run.id, model, input_example=x[["age", "income"]].head(5),
                                reference_data=x)
        mv = client.registry.create_model_version("churn", run_id=run.id)
        client.registry.set_alias("churn", "champion", mv.version)
    return home, model, mv.version


@pytest.fixture
def churn(churn_template: tuple[Path, Any, int], tmp_path: Path) -> Iterator[Churn]:
    """A Client on a copy of the template home (in the working directory, as the CLI uses)."""
    from shipyard.client import Client

    template, model, version = churn_template
    home = tmp_path / ".shipyard"
    shutil.copytree(template, home)
    client = Client(home=home)
    try:
        yield Churn(client=client, model=model, version=version)
    finally:
        client.close()


@dataclass
class Receiver:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["status"] < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records every POST (``fail_next`` answers 503)."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = 200
            if state.fail_next:
                state.fail_next -= 1
                status = 503
            state.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "raw": raw, "body": json.loads(raw), "status": status})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()

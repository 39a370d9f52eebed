"""Fixtures for the model server: a home with registered models, and a real uvicorn server
on a free loopback port (in a thread of the test process)."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from shipyard.client import Client

COLS = ["a", "b", "c", "d"]


def register(client: Client, name: str, model: Any, example: Any, *,
             alias: str | None = None, **kwargs: Any) -> int:
    """Log ``model`` in a new run and register it as the next version of ``name``."""
    run = client.tracking.create_run(experiment="serving-tests")
    info = client.models.log_model(run.id, model, input_example=example, **kwargs)
    mv = client.registry.create_model_version(name, run_id=run.id,
                                              artifact_path=info.artifact_path)
    if alias:
        client.registry.set_alias(name, alias, mv.version)
    return mv.version


@dataclass
class Zoo:
    client: Client
    X: np.ndarray
    y: np.ndarray
    lr: Any
    rf: Any

    def frame(self, n: int = 5, start: int = 0) -> pd.DataFrame:
        return pd.DataFrame(self.X[start:start + n], columns=COLS)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Iterator[Zoo]:
    """lr (LogisticRegression) and rf (RandomForest) registered with alias champion."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("serving") / ".shipyard"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    client = Client(home=home)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    lr = LogisticRegression().fit(X, y)
    rf = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    example = pd.DataFrame(X[:20], columns=COLS)
    register(client, "lr", lr, example, alias="champion")
    register(client, "rf", rf, example, alias="champion")
    yield Zoo(client=client, X=X, y=y, lr=lr, rf=rf)
    client.close()


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/ready").status_code == 200:
            return
        time.sleep(0.05)
    msg = f"{url} did not become ready"
    raise AssertionError(msg)


@dataclass
class Served:
    url: str
    app: Any
    host: Any
    logger: Any
    http: httpx.Client

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(f"{self.url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(f"{self.url}{path}", **kwargs)


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[..., contextlib.AbstractContextManager[Served]]]:
    """``with serve(client, ["models:/lr@champion"], serve_reload_interval=1) as s:``"""
    from shipyard.server.serving import build_host, create_serving_app
    from shipyard.testing.server import serve_in_thread

    @contextlib.contextmanager
    def run(client: Client, targets: list[str], *, auth: Any = None,
            **overrides: Any) -> Iterator[Served]:
        overrides.setdefault("serve_access_log", False)
        settings = client.settings.model_copy(update=overrides)
        host, logger, metrics, agent = build_host(client, targets, settings=settings,
                                                  url="http://test")
        app = create_serving_app(host, settings=settings, logger=logger, metrics=metrics,
                                 agent=agent, auth=auth)
        with serve_in_thread(app) as url, httpx.Client(timeout=30) as http:
            wait_ready(url)
            yield Served(url=url, app=app, host=host, logger=logger, http=http)

    return run

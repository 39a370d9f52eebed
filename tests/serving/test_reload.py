"""Hot reload: while a load loop runs, the alias moves; the server loads and warms the new
version on the side and switches atomically. No request fails, and every answer comes from
exactly one version (the constant it predicts matches the version it reports)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import numpy as np
from sklearn.dummy import DummyClassifier
from tests.serving.conftest import COLS, Zoo, register


def _constant(value: int, zoo: Zoo) -> DummyClassifier:
    return DummyClassifier(strategy="constant", constant=value).fit(zoo.X, zoo.y)


def test_alias_move_under_load_fails_no_request_and_never_mixes_versions(
        zoo: Zoo, serve: Any) -> None:
    client = zoo.client
    # version N of "flip" always predicts N % 2, and the answer says which version it was
    v1 = register(client, "flip", _constant(1, zoo), zoo.frame(5), alias="champion")
    v2 = register(client, "flip", _constant(0, zoo), zoo.frame(5))
    v3 = register(client, "flip", _constant(1, zoo), zoo.frame(5))
    assert (v1, v2, v3) == (1, 2, 3)
    rows = [dict(zip(COLS, r, strict=True)) for r in zoo.X[:3].tolist()]
    with serve(client, ["models:/flip@champion"], serve_reload_interval=0.1) as s:
        answers: list[tuple[int, int, list[int]]] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=30) as http:
                while not stop.is_set():
                    r = http.post(f"{s.url}/v1/models/flip/predict", json=rows)
                    body = r.json()
                    answers.append((r.status_code, body.get("version"),
                                    body.get("predictions")))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for version in (2, 3):
                time.sleep(0.6)
                client.registry.set_alias("flip", "champion", version)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not any(
                        v == version for _, v, _ in answers[-20:]):
                    time.sleep(0.05)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert len(answers) > 50
    failed = [a for a in answers if a[0] != 200]
    assert failed == []
    for _, version, preds in answers:
        assert preds == [version % 2] * 3, (version, preds)  # one version per answer
    seen = [v for _, v, _ in answers]
    assert {1, 2, 3} <= set(seen)
    assert seen[-1] == 3
    assert np.all(np.diff([seen.index(v) for v in (1, 2, 3)]) > 0)


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(zoo: Zoo, serve: Any) -> None:
    client = zoo.client
    from tests.serving.sample_models import BrokenClassifier

    register(client, "sturdy", _constant(1, zoo), zoo.frame(5), alias="champion")
    broken = register(client, "sturdy", BrokenClassifier().fit(zoo.X, zoo.y), zoo.frame(5),
                      signature={"inputs": {"type": "columns", "columns": [
                          {"name": c, "type": "float64"} for c in COLS]},
                          "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]}})
    rows = [dict(zip(COLS, zoo.X[0].tolist(), strict=True))]
    with serve(client, ["models:/sturdy@champion"]) as s:
        client.registry.set_alias("sturdy", "champion", broken)
        resp = s.post("/admin/reload", params={"model": "sturdy"})
        assert resp.status_code == 200, resp.text
        (entry,) = resp.json()["models"]
        assert entry["outcome"] == "failed"
        assert "this model is broken" in entry["error"]
        answer = s.post("/v1/models/sturdy/predict", json=rows)
        assert answer.status_code == 200
        assert answer.json()["version"] == 1
        assert 'outcome="failed"' in s.get("/metrics").text

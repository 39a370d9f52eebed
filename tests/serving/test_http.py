"""The model server on real uvicorn (loopback): every input format, every bad input, OIP v2,
several models, metrics, request ids, limits, admin auth, and fuzzing from its OpenAPI."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.serving.conftest import COLS, Served, Zoo


@pytest.fixture(scope="module")
def server(zoo: Zoo, serve: Any) -> Iterator[Served]:
    with serve(zoo.client, ["models:/lr@champion", "models:/rf/1"],
               serve_max_body_bytes=64 * 1024, serve_request_timeout=1.0,
               serve_log_predictions=False) as served:
        yield served


def _arrow(frame: pd.DataFrame, *, file: bool = False) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    opener = pa.ipc.new_file if file else pa.ipc.new_stream
    with opener(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _bodies(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    records = frame.to_dict(orient="records")
    rows = frame.to_numpy().tolist()
    return {
        "records": {"json": records},
        "records-wrapped": {"json": {"records": records}},
        "mlflow-records": {"json": {"dataframe_records": records}},
        "split": {"json": {"columns": list(frame.columns), "data": rows}},
        "split-reordered": {"json": {"columns": list(frame.columns[::-1]),
                                     "data": frame[frame.columns[::-1]].to_numpy().tolist()}},
        "mlflow-split": {"json": {"dataframe_split": {"columns": list(frame.columns),
                                                      "data": rows}}},
        "instances-lists": {"json": {"instances": rows}},
        "instances-objects": {"json": {"instances": records}},
        "inputs-columns": {"json": {"inputs": {c: frame[c].tolist() for c in frame.columns}}},
        "ints-for-floats": {"json": [{c: int(v) for c, v in r.items()} for r in records]},
        "csv": {"content": frame.to_csv(index=False), "headers": {"content-type": "text/csv"}},
        "arrow-stream": {"content": _arrow(frame), "headers": {
            "content-type": "application/vnd.apache.arrow.stream"}},
        "arrow-file": {"content": _arrow(frame, file=True), "headers": {
            "content-type": "application/vnd.apache.arrow.file"}},
    }


FORMATS = list(_bodies(pd.DataFrame({c: [0.0] for c in COLS})))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_input_format_predicts_like_the_model(server: Served, zoo: Zoo, fmt: str) -> None:
    frame = zoo.frame(7, start=3)
    if fmt == "ints-for-floats":
        frame = frame.round(0)
    resp = server.post("/v1/models/lr/predict", **_bodies(frame)[fmt])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "lr"
    assert body["version"] == 1
    assert body["predictions"] == zoo.lr.predict(frame.to_numpy()).tolist()


def test_predict_proba_returns_classes_and_probabilities(server: Served, zoo: Zoo) -> None:
    frame = zoo.frame(3)
    resp = server.post("/v1/models/rf/predict_proba", json=frame.to_dict(orient="records"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["classes"] == [0, 1]
    np.testing.assert_allclose(body["probabilities"], zoo.rf.predict_proba(frame.to_numpy()),
                               rtol=1e-12)


def _error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"code", "message", "hint"}
    return err


def _record(**changes: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    rec.update(changes)
    return {k: v for k, v in rec.items() if v is not ...}


BAD: list[tuple[str, dict[str, Any], int, list[str]]] = [
    ("missing column", {"json": [_record(c=...)]}, 400, ["'c'", "missing", "float64"]),
    ("missing in one record", {"json": [_record(), _record(d=...)]}, 400,
     ["'d'", "record 1"]),
    ("extra column", {"json": [_record(zz=1.0)]}, 400, ["'zz'", "does not have"]),
    ("wrong type", {"json": [_record(b="tall")]}, 400, ["'b'", "'tall'", "float64"]),
    ("bool for a float", {"json": [_record(a=True), _record(a=1.5)]}, 400, ["'a'", "True"]),
    ("nested value", {"json": [_record(a=[1, 2])]}, 400, ["'a'", "[1, 2]"]),
    ("split with a short row", {"json": {"columns": COLS, "data": [[1, 2, 3]]}}, 400,
     ["Row 0", "3 values", "4"]),
    ("split with an unknown column", {"json": {"columns": [*COLS[:3], "x"],
                                               "data": [[1, 2, 3, 4]]}}, 400, ["'x'"]),
    ("records not objects", {"json": {"records": [1, 2]}}, 400, ["Record 0"]),
    ("unknown wrapper", {"json": {"rows": []}}, 400, ["'rows'", "expected exactly one"]),
    ("scalar body", {"json": 3}, 400, ["int"]),
    ("no rows", {"json": []}, 400, ["no rows"]),
    ("malformed JSON", {"content": b'[{"a": 1.0,'}, 400, ["not valid JSON"]),
    ("NaN literal", {"content": b'[{"a": NaN}]'}, 400, ["not valid JSON"]),
    ("empty body", {"content": b""}, 400, ["empty"]),
    ("bad CSV", {"content": b"a,b\n1,2,3\n", "headers": {"content-type": "text/csv"}}, 400,
     ["CSV"]),
    ("CSV missing a column", {"content": b"a,b,c\n1,2,3\n",
                              "headers": {"content-type": "text/csv"}}, 400, ["'d'"]),
    ("CSV wrong type", {"content": b"a,b,c,d\n1,2,x,4\n",
                        "headers": {"content-type": "text/csv"}}, 400, ["'c'", "'x'"]),
    ("not Arrow", {"content": b"garbage", "headers": {
        "content-type": "application/vnd.apache.arrow.stream"}}, 400, ["Arrow IPC"]),
    ("unsupported type", {"content": b"<xml/>", "headers": {"content-type": "text/xml"}}, 415,
     ["text/xml"]),
    ("huge body", {"content": b"[" + b"1.0," * 40_000 + b"1.0]"}, 413, ["at most 65536"]),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "needles"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_gets_a_4xx_naming_the_problem_and_the_server_stays_up(
        server: Served, case: str, kwargs: dict[str, Any], status: int,
        needles: list[str]) -> None:
    err = _error(server.post("/v1/models/lr/predict", **kwargs), status)
    for needle in needles:
        assert needle in err["message"], (case, err["message"])
    ok = server.post("/v1/models/lr/predict", json=[_record()])
    assert ok.status_code == 200


def test_a_row_the_model_itself_refuses_is_a_4xx(server: Served) -> None:
    err = _error(server.post("/v1/models/lr/predict", json=[_record(a=None)]), 400)
    assert err["code"] == "prediction-failed"
    assert "NaN" in err["message"]


def test_unknown_model_route_and_method(server: Served) -> None:
    assert _error(server.post("/v1/models/nope/predict", json=[_record()]), 404)["code"] == (
        "model-not-served")
    assert _error(server.get("/v1/models/lr/predict"), 405)["code"] == "method-not-allowed"
    assert _error(server.get("/nowhere"), 404)["code"] == "not-found"


def test_body_sent_too_slowly_gets_408(server: Served) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/models/lr/predict HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[{")
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "request-timeout" in answer


def test_request_ids_are_echoed_or_made(server: Served) -> None:
    mine = server.post("/v1/models/lr/predict", json=[_record()],
                       headers={"X-Request-ID": "req-42"})
    assert mine.headers["x-request-id"] == "req-42"
    made = {server.post("/v1/models/lr/predict", json=[_record()]).headers["x-request-id"]
            for _ in range(3)}
    assert len(made) == 3
    assert _error(server.post("/v1/models/lr/predict", json=[]), 400)
    assert server.get("/health").headers["x-request-id"]


def test_models_listing_has_versions_and_signatures(server: Served) -> None:
    models = {m["name"]: m for m in server.get("/v1/models").json()["models"]}
    assert set(models) == {"lr", "rf"}
    assert (models["lr"]["version"], models["lr"]["follows"]) == (1, "champion")
    assert (models["rf"]["version"], models["rf"]["follows"]) == (1, None)
    cols = models["lr"]["signature"]["inputs"]["columns"]
    assert [c["name"] for c in cols] == COLS
    assert models["lr"]["methods"] == ["predict", "predict_proba"]
    assert models["lr"]["path"] == "sklearn-linear"
    assert models["rf"]["path"] == "sklearn-trees"
    assert server.get("/v1/models/rf").json()["version_uri"] == "models:/rf/1"


def test_health_and_ready(server: Served) -> None:
    assert server.get("/health").json() == {"status": "ok"}
    assert server.get("/ready").json() == {"status": "ready"}
    assert server.get("/v2/health/live").json() == {"live": True}
    assert server.get("/v2/health/ready").json() == {"ready": True}


# -- Open Inference Protocol v2 -----------------------------------------------------------
def test_v2_infer_with_one_tensor_input(server: Served, zoo: Zoo) -> None:
    x = zoo.X[:3]
    resp = server.post("/v2/models/lr/infer", json={
        "id": "abc", "inputs": [{"name": "input-0", "shape": [3, 4], "datatype": "FP32",
                                 "data": x.astype(np.float32).ravel().tolist()}],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("lr", "1", "abc")
    pred, proba = body["outputs"]
    assert (pred["name"], pred["shape"], pred["datatype"]) == ("predict", [3], "INT64")
    assert pred["data"] == zoo.lr.predict(x.astype(np.float32).astype(np.float64)).tolist()
    assert (proba["shape"], proba["datatype"]) == ([3, 2], "FP64")


def test_v2_infer_with_one_input_per_column_nested_data(server: Served, zoo: Zoo) -> None:
    x = zoo.X[:2]
    inputs = [{"name": c, "shape": [2, 1], "datatype": "FP64", "data": [[v] for v in x[:, i]]}
              for i, c in enumerate(COLS)]
    resp = server.post("/v2/models/rf/versions/1/infer", json={"inputs": inputs[::-1]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["outputs"][0]["data"] == zoo.rf.predict(x).tolist()


V2_BAD = [
    ({"inputs": []}, 400, "non-empty 'inputs'"),
    ({"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, 400,
     "needs 2"),
    ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP99", "data": [1, 2, 3, 4]}]},
     400, "FP99"),
    ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                  "data": ["a", "b", "c", "d"]}]}, 400, "'a'"),
    ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
     400, "4 columns"),
    ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}],
      "outputs": [{"name": "logits"}]}, 400, "'logits'"),
]


@pytest.mark.parametrize(("body", "status", "needle"), V2_BAD)
def test_v2_bad_requests_use_the_protocol_error_shape(server: Served, body: dict[str, Any],
                                                      status: int, needle: str) -> None:
    resp = server.post("/v2/models/lr/infer", json=body)
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["error"]
    assert isinstance(resp.json()["error"], str)


def test_v2_metadata_and_readiness(server: Served) -> None:
    meta = server.get("/v2/models/lr").json()
    assert meta["name"] == "lr"
    assert meta["versions"] == ["1"]
    assert [i["name"] for i in meta["inputs"]] == COLS
    assert {o["name"] for o in meta["outputs"]} == {"predict", "predict_proba"}
    assert server.get("/v2/models/lr/ready").json() == {"name": "lr", "ready": True}
    assert server.get("/v2").json()["name"] == "shipyard"
    assert server.post("/v2/models/lr/versions/9/infer", json={}).status_code == 404


# -- metrics ------------------------------------------------------------------------------
def test_metrics_report_requests_latency_batches_and_queue_time(server: Served) -> None:
    for _ in range(3):
        server.post("/v1/models/rf/predict", json=[_record()])
    server.post("/v1/models/rf/predict", json=[_record(a="x")])
    text = server.get("/metrics").text
    assert ('shipyard_serving_requests_total{model="rf",route="/v1/models/{name}/predict",'
            'status="200",version="1"}') in text
    assert 'shipyard_serving_errors_total{code="signature-mismatch",model="rf"' in text
    for name in ("shipyard_serving_request_duration_seconds_bucket",
                 "shipyard_serving_batch_size_rows_bucket",
                 "shipyard_serving_batch_size_requests_bucket",
                 "shipyard_serving_queue_seconds_bucket",
                 "shipyard_serving_model_call_seconds_bucket",
                 "shipyard_serving_requests_in_flight",
                 "shipyard_serving_rows_total"):
        assert name in text, name
    assert 'shipyard_serving_model_loads_total{model="rf",outcome="loaded",version="1"}' in text


def test_concurrent_requests_are_batched(zoo: Zoo, serve: Any) -> None:
    """A slow model and 16 concurrent clients: calls merge requests, and the batch size
    histogram says so; every client still gets its own rows back."""
    from tests.serving.conftest import register
    from tests.serving.sample_models import SlowClassifier

    model = SlowClassifier(delay=0.03).fit(zoo.X, zoo.y)
    register(zoo.client, "slow", model, zoo.frame(5))
    with serve(zoo.client, ["models:/slow/1"], serve_log_predictions=False) as s:
        import concurrent.futures

        def call(i: int) -> tuple[int, list[int]]:
            row = dict(zip(COLS, [float(i), 0.0, 0.0, 0.0], strict=True))
            r = httpx.post(f"{s.url}/v1/models/slow/predict", json=[row], timeout=30)
            return r.status_code, r.json()["predictions"]

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(-8, 24)))
        assert all(code == 200 for code, _ in results)
        assert [p for _, p in results] == [[int(i > 0)] for i in range(-8, 24)]
        text = s.get("/metrics").text
        count = _sample(text, 'shipyard_serving_batch_size_requests_count{model="slow"')
        assert count < 32  # 32 requests in fewer model calls


def _sample(text: str, prefix: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


# -- admin ----------------------------------------------------------------------------------
def test_admin_reload_needs_an_admin_when_auth_is_on(zoo: Zoo, serve: Any) -> None:
    auth = zoo.client.auth
    auth.create_user("boss", role="admin", password="pw-boss-123456")
    auth.create_user("reader", role="viewer", password="pw-reader-123456")
    with serve(zoo.client, ["models:/lr@champion"], auth=auth,
               serve_log_predictions=False) as s:
        assert _error(s.post("/admin/reload"), 401)["code"] == "unauthenticated"
        assert _error(s.post("/admin/reload", auth=("reader", "pw-reader-123456")), 403)[
            "code"] == "permission-denied"
        ok = s.post("/admin/reload", auth=("boss", "pw-boss-123456"))
        assert ok.status_code == 200, ok.text
        assert ok.json()["models"] == [{"name": "lr", "from": 1, "to": 1,
                                        "outcome": "unchanged"}]
        assert s.post("/v1/models/lr/predict", json=[_record()]).status_code == 200


def test_the_server_registers_itself_as_a_deployment(zoo: Zoo, serve: Any) -> None:
    service = zoo.client.serving
    with serve(zoo.client, ["models:/lr@champion"], serve_log_predictions=False,
               serve_heartbeat_interval=0.2) as s:
        deadline = time.monotonic() + 10
        mine = []
        while not mine and time.monotonic() < deadline:
            mine = [d for d in service.list_deployments(live=True) if d.pid is not None
                    and d.models and d.models[0].name == "lr" and d.stopped_at is None]
            time.sleep(0.05)
        assert mine, "the server did not register"
        dep = mine[0]
        assert dep.models[0].version == 1
        s.post("/v1/models/lr/predict", json=[_record()])
        time.sleep(0.5)
        assert service.get_deployment(dep.id).stats["requests"] >= 1
    assert service.get_deployment(dep.id).stopped_at is not None
    assert dep.id not in [d.id for d in service.list_deployments()]


# -- OpenAPI --------------------------------------------------------------------------------
def test_openapi_document_describes_each_served_model(server: Served) -> None:
    doc = server.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/models/lr/predict", "/v1/models/lr/predict_proba",
                 "/v1/models/rf/predict", "/v2/models/lr/infer", "/v1/feedback",
                 "/admin/reload", "/health", "/ready", "/metrics"):
        assert path in doc["paths"], path
    body = doc["paths"]["/v1/models/lr/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv", "application/vnd.apache.arrow.stream"} <= set(body)


@pytest.mark.slow
def test_fuzzing_the_openapi_document_finds_no_server_error(server: Served) -> None:
    """schemathesis generates requests (valid and invalid) for every operation: none may
    get a 5xx (driven by hand, as in tests/server/test_openapi.py)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:
        if operation.path == "/admin/reload":
            continue  # reloading 25 times in a row is slow and tells nothing new

        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert failures == [], "\n\n".join(failures)
    assert server.post("/v1/models/lr/predict", json=[_record()]).status_code == 200


def test_a_huge_body_gets_413_instead_of_a_broken_pipe(server: Served) -> None:
    big = b"[" + b"1.0," * 2_000_000 + b"1.0]"  # 8 MB against a 64 KB limit
    err = _error(server.post("/v1/models/lr/predict", content=big), 413)
    assert err["code"] == "too-large"
    streamed = server.post("/v1/models/lr/predict",
                           content=iter([b"[" + b"1.0," * 100_000] * 40 + [b"1.0]"]))
    assert _error(streamed, 413)["code"] == "too-large"  # no Content-Length: chunked
    assert server.post("/v1/models/lr/predict", json=[_record()]).status_code == 200

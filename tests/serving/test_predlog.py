"""Prediction logging: every request's inputs, outputs, version, request id, timestamp and
latency land in Parquet under predictions/<model>/<date>/<hour>/, off the request path;
feedback under feedback/<model>/...; dropped records are counted, never silent."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.serving.conftest import COLS, Zoo

from shipyard.backends.artifacts.memory import MemoryArtifactStore
from shipyard.serving import FeedbackRecord, PredictionLogger, PredictionRecord, partition_key


def _load(store: Any, key: str) -> pa.Table:
    with store.open(key) as fh:
        return pq.read_table(io.BytesIO(fh.read()))


def _read(store: Any, prefix: str) -> pa.Table:
    keys = sorted(store.list(prefix))
    assert keys, f"nothing under {prefix}"
    return pa.concat_tables([_load(store, k) for k in keys])


def test_served_predictions_and_feedback_are_logged(zoo: Zoo, serve: Any) -> None:
    store = zoo.client.artifacts
    before = set(store.list("predictions/lr/"))
    frame = zoo.frame(3, start=10)
    records = frame.to_dict(orient="records")
    with serve(zoo.client, ["models:/lr@champion"], serve_log_flush_interval=60) as s:
        one = s.post("/v1/models/lr/predict", json=records[:1], headers={"X-Request-ID": "r-1"})
        two = s.post("/v1/models/lr/predict_proba", json=records[1:],
                     headers={"X-Request-ID": "r-2"})
        assert (one.status_code, two.status_code) == (200, 200)
        fb = s.post("/v1/feedback", json=[{"request_id": "r-1", "label": 1},
                                          {"model": "lr", "request_id": "r-2",
                                           "labels": [0, "1"]}])
        assert fb.status_code == 202, fb.text
        assert fb.json() == {"accepted": 2, "dropped": 0}
        bad = s.post("/v1/feedback", json={"request_id": "r-3"})
        assert bad.status_code == 400
    # closing the server flushed the logger
    new = sorted(set(store.list("predictions/lr/")) - before)
    assert new
    now = datetime.now(UTC)
    assert all(k.startswith(f"predictions/lr/{now:%Y-%m-%d}/") for k in new)
    table = pa.concat_tables([_load(store, k) for k in new])
    df = table.to_pandas().sort_values(["request_id", "row"]).reset_index(drop=True)
    assert list(df["request_id"]) == ["r-1", "r-2", "r-2"]
    assert list(df["row"]) == [0, 0, 1]
    assert set(df["model"]) == {"lr"}
    assert set(df["version"]) == {1}
    assert str(table.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert (df["latency_ms"] > 0).all()
    for col in COLS:
        np.testing.assert_allclose(df[f"input.{col}"], frame[col])
    assert list(df["output.prediction"]) == zoo.lr.predict(frame.to_numpy()).tolist()
    np.testing.assert_allclose(df[["output.proba_0", "output.proba_1"]],
                               zoo.lr.predict_proba(frame.to_numpy()))
    feedback = _read(store, "feedback/lr/").to_pandas().sort_values(["request_id", "row"])
    assert list(feedback["request_id"]) == ["r-1", "r-2", "r-2"]
    assert list(feedback["label"]) == ["1", "0", "1"]
    assert feedback["label_number"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(feedback["label_number"].tolist()[2])


def _record(i: int, model: str = "m") -> PredictionRecord:
    return PredictionRecord(model=model, version=2, request_id=f"r{i}",
                            timestamp_ms=1_700_000_000_000 + i, latency_ms=1.5,
                            input=np.array([[float(i), 2.0]]), columns=("x", "y"),
                            predictions=np.array([i % 2]), probabilities=np.array([[0.3, 0.7]]),
                            classes=["no", "yes"])


def test_a_full_queue_drops_and_counts_never_silently() -> None:
    store = MemoryArtifactStore()
    dropped: list[tuple[str, str, int]] = []
    logger = PredictionLogger(store, queue_size=3, flush_interval=60,
                              on_drop=lambda *a: dropped.append(a))
    results = [logger.log(_record(i)) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert dropped == [("predictions", "m", 1), ("predictions", "m", 1)]
    assert logger.dropped == {("predictions", "m"): 2}
    assert logger.flush() == 1
    table = _read(store, "predictions/m/")
    assert table.column_names == ["request_id", "row", "model", "version", "timestamp",
                                  "latency_ms", "input.x", "input.y", "output.prediction",
                                  "output.proba_no", "output.proba_yes"]
    assert table.num_rows == 3


def test_a_failed_write_is_counted_as_dropped() -> None:
    class Broken(MemoryArtifactStore):
        def put(self, *a: Any, **k: Any) -> int:
            raise OSError("disk full")

    dropped: list[Any] = []
    logger = PredictionLogger(Broken(), on_drop=lambda *a: dropped.append(a))
    logger.log(_record(1))
    logger.log(FeedbackRecord(model="m", request_id="r1", labels=[1, 0], timestamp_ms=0))
    assert logger.flush() == 0
    assert sorted(dropped) == [("feedback", "m", 2), ("predictions", "m", 1)]


def test_files_are_partitioned_by_model_and_hour() -> None:
    store = MemoryArtifactStore()
    logger = PredictionLogger(store)
    hour = 3_600_000
    for i, (model, ts) in enumerate([("a", 0), ("a", hour), ("b", 0)]):
        rec = _record(i, model)
        logger.log(PredictionRecord(**{**{f: getattr(rec, f) for f in rec.__slots__},
                                       "timestamp_ms": ts}))
    logger.close()
    keys = sorted(store.list("predictions/"))
    assert [k.rsplit("/", 1)[0] for k in keys] == ["predictions/a/1970-01-01/00",
                                                   "predictions/a/1970-01-01/01",
                                                   "predictions/b/1970-01-01/00"]
    assert partition_key("feedback", "x", 0, "f.parquet") == "feedback/x/1970-01-01/00/f.parquet"


@pytest.mark.parametrize("value", [None, True, "yes", 3, 2.5])
def test_feedback_labels_keep_text_and_number(value: Any) -> None:
    store = MemoryArtifactStore()
    logger = PredictionLogger(store)
    logger.log(FeedbackRecord(model="m", request_id="r", labels=[value], timestamp_ms=0))
    logger.flush()
    row = _read(store, "feedback/m/").to_pylist()[0]
    want = {None: None, True: "true", "yes": "yes", 3: "3", 2.5: "2.5"}[value]
    assert row["label"] == want


def test_packed_columns_hold_every_row_of_every_request() -> None:
    """Numeric records are copied into growing numpy columns as they arrive (past the
    first capacity of 1024 rows here); string labels and inputs without probabilities
    take the record path; every row comes back exactly as logged."""
    store = MemoryArtifactStore()
    logger = PredictionLogger(store, queue_size=10_000, flush_interval=60)
    rng = np.random.default_rng(3)
    sent: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for i in range(300):
        n = int(rng.integers(1, 12))
        x = rng.normal(size=(n, 2))
        pred = rng.integers(0, 2, size=n)
        proba = rng.random(size=(n, 2))
        logger.log(PredictionRecord(model="m", version=2, request_id=f"r{i}",
                                    timestamp_ms=1_700_000_000_000 + i, latency_ms=float(i),
                                    input=x, columns=("x", "y"), predictions=pred,
                                    probabilities=proba, classes=["no", "yes"]))
        sent.append((f"r{i}", x, pred, proba))
    logger.log(PredictionRecord(model="m", version=2, request_id="text", timestamp_ms=0,
                                latency_ms=1.0, input=np.array([[1.0, 2.0]]),
                                columns=("x", "y"), predictions=np.array(["yes"])))
    assert logger.flush() == 2
    import pandas as pd

    df = pd.concat([_load(store, k).to_pandas() for k in store.list("predictions/m/")],
                   ignore_index=True)
    text = df[df["request_id"] == "text"]
    assert list(text["output.prediction"]) == ["yes"]
    assert text["output.proba_yes"].isna().all()
    df = df[df["request_id"] != "text"]
    assert len(df) == sum(len(p) for _, _, p, _ in sent) > 1024
    by_id = {rid: g.sort_values("row") for rid, g in df.groupby("request_id")}
    for rid, x, pred, proba in sent:
        got = by_id[rid]
        assert list(got["row"]) == list(range(len(pred)))
        np.testing.assert_array_equal(got[["input.x", "input.y"]].to_numpy(), x)
        np.testing.assert_array_equal(got["output.prediction"].to_numpy().astype(int), pred)
        np.testing.assert_array_equal(got[["output.proba_no", "output.proba_yes"]].to_numpy(),
                                      proba)
        assert set(got["latency_ms"]) == {float(rid[1:])}
        assert set(got["version"]) == {2}
    assert logger.rows_written == len(df) + 1
    logger.log(_record(1))  # the buffer is empty again after a flush: a new block
    assert logger.flush() == 1


def test_a_packed_block_that_fails_to_write_counts_its_rows() -> None:
    class Broken(MemoryArtifactStore):
        def put(self, *a: Any, **k: Any) -> int:
            raise OSError("disk full")

    dropped: list[Any] = []
    logger = PredictionLogger(Broken(), queue_size=2, on_drop=lambda *a: dropped.append(a))
    two_rows = PredictionRecord(model="m", version=1, request_id="a", timestamp_ms=0,
                                latency_ms=1.0, input=np.zeros((2, 2)), columns=("x", "y"),
                                predictions=np.array([0, 1]))
    assert logger.log(two_rows)
    assert logger.log(_record(1))
    assert not logger.log(_record(2))  # the buffer holds 2 requests
    assert logger.flush() == 0
    assert sorted(dropped) == [("predictions", "m", 1), ("predictions", "m", 1),
                               ("predictions", "m", 2)]
    assert logger.dropped == {("predictions", "m"): 4}
    assert logger.log(_record(3))  # written (or dropped) records free their place


def test_non_numeric_inputs_take_the_record_path_and_are_written() -> None:
    store = MemoryArtifactStore()
    logger = PredictionLogger(store)
    logger.log(PredictionRecord(model="m", version=1, request_id="o", timestamp_ms=0,
                                latency_ms=1.0, input=np.array([["a", 1]], dtype=object),
                                columns=("x", "y"), predictions=np.array([1])))
    assert logger.flush() == 1
    assert not logger.dropped
    row = _read(store, "predictions/m/").to_pylist()[0]
    assert (row["input.x"], row["input.y"], row["output.prediction"]) == ("a", 1, 1)

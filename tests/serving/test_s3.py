"""Serving against a real S3 server (SeaweedFS on loopback): the prediction log lands in the
S3 artifact store partitioned by model and hour, and batch scoring reads an ``s3://`` prefix
and writes its scores and rejects back to S3."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.serving.conftest import COLS, Zoo

from shipyard.backends.artifacts.s3 import S3ArtifactStore
from shipyard.serving import PredictionLogger, PredictionRecord
from shipyard.serving._batch import BatchScorer

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def s3(s3_server: Any) -> Iterator[tuple[Any, Any, str]]:
    """(server, boto3 client, a fresh bucket), credentials through the AWS variables."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                     "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        client = boto3.session.Session().client(
            "s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
        bucket = f"serving-{uuid.uuid4().hex[:10]}"
        client.create_bucket(Bucket=bucket)
        yield s3_server, client, bucket


def test_the_prediction_log_lands_in_s3_by_model_and_hour(s3: tuple[Any, Any, str]) -> None:
    server, client, bucket = s3
    store = S3ArtifactStore(bucket, "predlog", endpoint_url=server.endpoint_url)
    logger = PredictionLogger(store, flush_interval=60)
    hour = 3_600_000
    for i, (model, ts) in enumerate([("churn", 0), ("churn", 5), ("churn", hour),
                                     ("fraud", 0)]):
        assert logger.log(PredictionRecord(
            model=model, version=3, request_id=f"r{i}", timestamp_ms=ts, latency_ms=1.0,
            input=np.array([[float(i), 2.0]]), columns=("x", "y"),
            predictions=np.array([i % 2]), probabilities=np.array([[0.25, 0.75]]),
            classes=["no", "yes"]))
    logger.close()
    keys = sorted(o["Key"] for o in client.list_objects_v2(
        Bucket=bucket, Prefix="predlog/predictions/")["Contents"])
    assert [k.rsplit("/", 1)[0] for k in keys] == [
        "predlog/predictions/churn/1970-01-01/00", "predlog/predictions/churn/1970-01-01/01",
        "predlog/predictions/fraud/1970-01-01/00"]
    first = pq.read_table(io.BytesIO(client.get_object(
        Bucket=bucket, Key=keys[0])["Body"].read())).to_pandas().sort_values("request_id")
    assert first["request_id"].tolist() == ["r0", "r1"]
    assert first["input.x"].tolist() == [0.0, 1.0]
    assert set(first["version"]) == {3}


def test_batch_scoring_reads_and_writes_s3(zoo: Zoo, s3: tuple[Any, Any, str]) -> None:
    server, client, bucket = s3
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(rng.normal(size=(700, 4)), columns=COLS)
    frame.insert(0, "customer", [f"c{i}" for i in range(700)])
    frame.loc[5, "c"] = np.nan  # a rejected row: LogisticRegression refuses NaN
    for i, start in enumerate(range(0, 700, 350)):
        body = io.BytesIO()
        frame.iloc[start:start + 350].to_parquet(body)
        client.put_object(Bucket=bucket, Key=f"in/part-{i}.parquet", Body=body.getvalue())
    settings = zoo.client.settings.model_copy(update={"s3_endpoint_url":
                                                      server.endpoint_url})
    result = BatchScorer(zoo.client.models, settings).score(
        "models:/lr@champion", input=f"s3://{bucket}/in/",
        output=f"s3://{bucket}/out/scores.parquet", chunk_rows=200, workers=1)
    assert (result.rows, result.scored, result.rejected) == (700, 699, 1)
    assert result.rejects == f"s3://{bucket}/out/scores.rejects.parquet"

    def read(key: str) -> pd.DataFrame:
        raw = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return pq.read_table(io.BytesIO(raw)).to_pandas()

    out = read("out/scores.parquet")
    good = frame.drop(index=[5])
    assert out["row"].tolist() == good.index.tolist()
    assert out["customer"].tolist() == good["customer"].tolist()
    x = good[COLS].astype(float).to_numpy()
    assert out["prediction"].tolist() == zoo.lr.predict(x).tolist()
    np.testing.assert_allclose(out[["proba_0", "proba_1"]], zoo.lr.predict_proba(x))
    rejects = read("out/scores.rejects.parquet")
    assert rejects["row"].tolist() == [5]
    assert "NaN" in rejects["reason"][0]

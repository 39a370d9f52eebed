"""The team deployment: the server on PostgreSQL and S3 (SeaweedFS), clients with no database
driver settings and no cloud credentials, talking HTTP only."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator

import pytest

import shipyard
from shipyard.client import Client
from shipyard.entities.tracking import RunStatus
from shipyard.server import create_app
from shipyard.testing.s3server import S3Server
from shipyard.testing.server import serve_in_thread
from shipyard.tracking import _fluent

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def team_server(postgres_url: str, s3_server: S3Server,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Client]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    bucket = f"shipyard-srv-{uuid.uuid4().hex[:10]}"
    server_side = Client(metadata_uri=postgres_url, artifact_uri=f"s3://{bucket}/team",
                         s3_endpoint_url=s3_server.endpoint_url)
    assert server_side.metadata.backend_name == "postgresql"
    assert server_side.artifacts.backend_name == "s3"
    try:
        with serve_in_thread(create_app(server_side)) as url:
            yield url, server_side
    finally:
        server_side.close()


def test_tracking_through_a_server_on_postgres_and_s3(team_server: tuple[str, Client],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, server_side = team_server
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # the client needs no cloud credentials
    _fluent._reset_for_tests()
    remote = Client(tracking_uri=url)
    _fluent._client = remote
    try:
        blob = os.urandom(3 * 1024 * 1024 + 5)
        with shipyard.start_run(experiment=f"team-{uuid.uuid4().hex[:6]}") as run:
            shipyard.log_params({"model": "gbm", "depth": 6})
            for i in range(2000):
                shipyard.log_metric("loss", 1 / (i + 1), step=i)
            info = remote.tracking.log_stream(run.id, io.BytesIO(blob), "model/weights.bin")
        assert info.sha256 == hashlib.sha256(blob).hexdigest()
        got = server_side.tracking.get_run(run.id)
        assert got.status is RunStatus.FINISHED
        assert got.params == {"model": "gbm", "depth": 6}
        assert len(server_side.tracking.get_metric_history(run.id, "loss")) == 2000
        key = f"{got.experiment_id}/{run.id}/model/weights.bin"
        assert server_side.artifacts.uri(key).startswith("s3://")
        assert server_side.artifacts.size(key) == len(blob)
        with remote.tracking.open_artifact(run.id, "model/weights.bin", start=10,
                                           end=1_000_010) as fh:
            assert fh.read() == blob[10:1_000_010]
        found = remote.tracking.search_runs(filter="params.model = 'gbm' and metrics.loss < 0.01")
        assert run.id in {r.id for r in found.items}
        remote.metadata.check()
        remote.tracking.delete_runs([run.id])
        assert run.id in remote.tracking.gc()
        assert not server_side.artifacts.exists(key)
    finally:
        _fluent._reset_for_tests()

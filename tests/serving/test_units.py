"""Small pieces: served names, the deployment listing (live and stale), request decoding."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.serving.conftest import COLS, Zoo

from shipyard.entities._ids import utc_now
from shipyard.entities.serving import DeployedModel, Deployment
from shipyard.errors import ConfigError, InvalidArgumentError, SignatureError
from shipyard.serving import ServingService, parse_targets
from shipyard.serving._codec import InputSpec, from_document, from_v2, loads, v2_output


def test_served_names_come_from_the_uri_or_are_given() -> None:
    assert parse_targets(["models:/churn@champion", "fraud=models:/fraud/4",
                          "models:/x/latest"]) == [
        ("churn", "models:/churn@champion"), ("fraud", "models:/fraud/4"),
        ("x", "models:/x/latest")]
    assert parse_targets([f"runs:/{'a' * 32}/model/sub"]) == [("sub", f"runs:/{'a' * 32}/model/sub")]
    with pytest.raises(InvalidArgumentError, match="named 'churn'"):
        parse_targets(["models:/churn/1", "models:/churn/2"])
    with pytest.raises(InvalidArgumentError, match="No model to serve"):
        parse_targets([])
    with pytest.raises(InvalidArgumentError, match="letters, digits"):
        parse_targets(["bad name=models:/churn/1"])


def test_list_deployments_splits_live_and_stale(tmp_path: Path, migrated_sqlite: Path) -> None:
    import shutil

    from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore

    shutil.copy(migrated_sqlite, tmp_path / "m.db")
    store = SQLiteMetadataStore.from_uri(f"sqlite:///{tmp_path / 'm.db'}")
    service = ServingService(store, heartbeat_interval=10)
    now = utc_now().replace(microsecond=0)
    model = (DeployedModel(name="m", version=1, uri="models:/m/1"),)
    for dep_id, beat in (("a" * 32, now), ("b" * 32, now - timedelta(minutes=5))):
        store.create_deployment(Deployment(id=dep_id, url="http://x", models=model,
                                           started_at=beat, heartbeat_at=beat))
    assert [d.id for d in service.list_deployments(live=True)] == ["a" * 32]
    assert [d.id for d in service.list_deployments(live=False)] == ["b" * 32]
    assert len(service.list_deployments()) == 2
    with pytest.raises(InvalidArgumentError, match="live"):
        service.list_deployments(live="yes")  # type: ignore[arg-type]
    store.close()
    with pytest.raises(ConfigError, match="keeps no deployments"):
        ServingService(None).list_deployments()


def test_decoding_shapes_agree(zoo: Zoo) -> None:
    model = zoo.client.models.load_model("models:/lr@champion")
    spec = InputSpec.of(model)
    x = zoo.X[:3]
    docs = [
        [dict(zip(COLS, r, strict=True)) for r in x.tolist()],
        {"columns": COLS, "data": x.tolist()},
        {"instances": x.tolist()},
        {"inputs": {c: x[:, i].tolist() for i, c in enumerate(COLS)}},
    ]
    for doc in docs:
        np.testing.assert_array_equal(from_document(doc, spec, model, maybe_bool=False), x)


def test_json_errors_and_v2_outputs() -> None:
    with pytest.raises(InvalidArgumentError, match="empty"):
        loads(b"  ")
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        loads(b"{")
    out = v2_output("predict_proba", np.array([[0.25, 0.75]]))
    assert out == {"name": "predict_proba", "shape": [1, 2], "datatype": "FP64",
                   "data": out["data"]}
    assert list(out["data"]) == [0.25, 0.75]
    assert v2_output("predict", np.array(["a", "b"]))["datatype"] == "BYTES"


def test_v2_bool_and_string_checks(zoo: Zoo) -> None:
    model = zoo.client.models.load_model("models:/lr@champion")
    spec = InputSpec.of(model)
    body = b'{"inputs": [{"name": "a", "shape": [1], "datatype": "BOOL", "data": [1]}]}'
    with pytest.raises(SignatureError, match="BOOL"):
        from_v2(body, spec, model)
    ok = (b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT64", '
          b'"data": [1, 2, 3, 4]}]}')
    x, outputs, _ = from_v2(ok, spec, model)
    assert x.dtype == np.float64
    assert outputs == ["predict"]

"""Every flavor round-trips on the local store: save, register, load, predict equal to the
original on the example (the S3 twin is test_model_flavors_s3.py). Trust and integrity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import Client
from shipyard.errors import ModelIntegrityError, UntrustedModelError

Case = tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]
FLAVOR_CASES = ["sklearn-pickle", "sklearn-skops", "sklearn-onnx", "xgboost", "xgboost-onnx",
                "lightgbm-sklearn", "lightgbm-booster", "lightgbm-onnx", "pytorch-export",
                "pytorch-pickle", "onnx", "pyfunc"]


@pytest.mark.parametrize("case", FLAVOR_CASES)
def test_flavor_round_trip_on_local_store(case: str, flavor_cases: dict[str, Case],
                                          client: Client, round_trip: Any) -> None:
    round_trip(flavor_cases[case], client)


def test_native_objects_are_the_flavors_own(flavor_cases: dict[str, Case], client: Client) -> None:
    import onnx
    import torch
    import xgboost
    from sklearn.pipeline import Pipeline

    want = {"sklearn-skops": Pipeline, "xgboost": xgboost.XGBClassifier,
            "pytorch-export": torch.nn.Module, "pytorch-pickle": torch.nn.Sequential,
            "onnx": onnx.ModelProto, "sklearn-onnx": onnx.ModelProto}
    for case, klass in want.items():
        model, kwargs, example, _ = flavor_cases[case]
        run = client.tracking.create_run(experiment="native")
        client.models.log_model(run.id, model, input_example=example, **kwargs)
        loaded = client.models.load_model(f"runs:/{run.id}/model")
        assert isinstance(loaded.native, klass), case
    model, kwargs, example, _ = flavor_cases["pyfunc"]
    run = client.tracking.create_run(experiment="native")
    client.models.log_model(run.id, model, input_example=example, **kwargs)
    assert type(client.models.load_model(f"runs:/{run.id}/model").native).__name__ == "Doubler"


def test_tampered_package_is_refused_before_loading(flavor_cases: dict[str, Case],
                                                    client: Client) -> None:
    model, kwargs, example, _ = flavor_cases["sklearn-pickle"]
    run = client.tracking.create_run(experiment="tamper")
    client.models.log_model(run.id, model, input_example=example, **kwargs)
    key = f"{run.experiment_id}/{run.id}/model/data/model.joblib"
    path = client.artifacts.root / key  # type: ignore[attr-defined]
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ModelIntegrityError, match="changed after it was logged"):
        client.models.load_model(f"runs:/{run.id}/model")


def test_skops_refuses_types_missing_from_the_manifest(flavor_cases: dict[str, Case], client: Client,
                                                       tmp_path: Path) -> None:
    from sklearn.tree import DecisionTreeClassifier

    _, _, example, _ = flavor_cases["sklearn-pickle"]
    model = DecisionTreeClassifier(max_depth=2).fit(example, [0, 1] * 4)  # needs a Tree type
    run = client.tracking.create_run(experiment="skops")
    client.models.log_model(run.id, model, input_example=example, format="skops")
    dest = tmp_path / "pkg"
    client.models.download(run.id, "model", dest)
    manifest_path = dest / "manifest.json"
    import json

    manifest = json.loads(manifest_path.read_text())
    manifest["flavor_options"]["skops_types"] = []
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(UntrustedModelError, match="not recorded"):
        client.models.load_model(str(dest))

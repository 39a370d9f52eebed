"""Fixtures shared by the model flavor tests: one trained model per flavor (torch and the
boosting libraries load once per worker) and the round-trip check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.models import ModelContext, PythonModel


class Doubler(PythonModel):
    """A custom model that reads its factor from an artifact file."""

    def load_context(self, context: ModelContext) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, model_input: Any) -> Any:
        return model_input["x"].to_numpy() * self.factor


def flavor_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 300).astype("int64"),
                          "income": rng.normal(50, 10, 300), "score": rng.random(300)})
    y = ((frame.income > 50) ^ (frame.score > 0.7)).astype(int).to_numpy()
    return frame, y


Case = tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]


@pytest.fixture(scope="module")
def flavor_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """name -> (model, log_model kwargs, example, expected predict on the example)."""
    import lightgbm
    import torch
    import xgboost
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, y = flavor_data()
    example = frame.head(8)
    arr = frame.to_numpy(dtype=np.float32)
    arr_ex = arr[:8]
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    xgb = xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(arr, y)
    lgbm = lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(arr, y)
    booster = lightgbm.train({"objective": "binary", "verbose": -1},
                             lightgbm.Dataset(arr, y), num_boost_round=5)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    net.eval()
    lin = LinearRegression().fit(arr, y.astype(np.float32))
    proto = to_onnx(lin, arr[:1])
    factor = tmp_path_factory.mktemp("art") / "factor.txt"
    factor.write_text("2.5")
    xs = pd.DataFrame({"x": [1.0, 2.0, 4.0]})

    def torch_pred(x: Any) -> Any:
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    return {
        "sklearn-pickle": (pipe, {}, example, pipe.predict),
        "sklearn-skops": (pipe, {"format": "skops"}, example, pipe.predict),
        "sklearn-onnx": (pipe, {"format": "onnx"}, example, pipe.predict),
        "xgboost": (xgb, {}, arr_ex, xgb.predict),
        "xgboost-onnx": (xgb, {"format": "onnx"}, arr_ex, xgb.predict),
        "lightgbm-sklearn": (lgbm, {}, arr_ex, lgbm.predict),
        "lightgbm-booster": (booster, {}, arr_ex, booster.predict),
        "lightgbm-onnx": (lgbm, {"format": "onnx"}, arr_ex, lgbm.predict),
        "pytorch-export": (net, {}, arr_ex, torch_pred),
        "pytorch-pickle": (net, {"format": "pickle"}, arr_ex, torch_pred),
        "onnx": (proto, {}, arr_ex, lin.predict),
        "pyfunc": (Doubler(), {"artifacts": {"factor": str(factor)}}, xs,
                   lambda x: x["x"].to_numpy() * 2.5),
    }


def _same(got: Any, want: Any) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(np.shape(want)),
                               np.asarray(want, dtype=float), rtol=1e-4, atol=1e-5)


def _round_trip(case: Case, client: Any) -> None:
    """Log, register, load by models:/ URI, and compare predictions with the original."""
    from shipyard.models import PyFuncModel

    model, kwargs, example, expected = case
    run = client.tracking.create_run(experiment="flavors")
    info = client.models.log_model(run.id, model, input_example=example, **kwargs)
    mv = client.registry.create_model_version("m", run_id=run.id)
    loaded = client.models.load_model(f"models:/m/{mv.version}", trust_pickle=True)
    assert isinstance(loaded, PyFuncModel)
    assert loaded.metadata["flavor"] == info.flavor
    assert loaded.signature == info.signature
    _same(loaded.predict(example), expected(example))
    if info.manifest["has_predict_proba"] and hasattr(model, "predict_proba"):
        _same(loaded.predict_proba(example), model.predict_proba(example))
    assert loaded.reference_profile is not None
    assert loaded.native is not None
    assert len(loaded.input_example) == len(example)


@pytest.fixture
def round_trip() -> Callable[[Case, Any], None]:
    return _round_trip

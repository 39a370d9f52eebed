"""The verified fast paths give exactly what the estimators' own predict gives, and anything
they cannot vouch for goes through the native predict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from tests.serving.conftest import COLS, Zoo

from shipyard.serving._codec import InputSpec, from_records
from shipyard.serving._fast import Predictor

rng = np.random.default_rng(11)
X = rng.normal(size=(400, 4))
Y_BIN = (X[:, 0] - X[:, 2] > 0).astype(int)
Y_MULTI = np.digitize(X[:, 1], [-0.5, 0.5])
Y_STR = np.array(["no", "yes"])[Y_BIN]
Y_REG = X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(size=400) * 0.1

CASES: dict[str, tuple[Any, Any, str]] = {
    "logistic-binary": (LogisticRegression(), Y_BIN, "sklearn-linear"),
    "logistic-multiclass": (LogisticRegression(), Y_MULTI, "sklearn-linear"),
    "logistic-string-classes": (LogisticRegression(), Y_STR, "sklearn-linear"),
    "linear-regression": (LinearRegression(), Y_REG, "sklearn-linear"),
    "ridge": (Ridge(alpha=0.5), Y_REG, "sklearn-linear"),
    "forest": (RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0), Y_MULTI,
               "sklearn-trees"),
    "extra-trees": (ExtraTreesClassifier(n_estimators=10, random_state=0), Y_STR,
                    "sklearn-trees"),
    "forest-regressor": (RandomForestRegressor(n_estimators=8, random_state=0), Y_REG,
                         "sklearn-trees"),
    "tree": (DecisionTreeClassifier(max_depth=5, random_state=0), Y_BIN, "sklearn-trees"),
    "tree-regressor": (DecisionTreeRegressor(max_depth=5, random_state=0), Y_REG,
                       "sklearn-trees"),
    "gradient-boosting": (GradientBoostingClassifier(n_estimators=5), Y_BIN, "native"),
    "pipeline": (make_pipeline(StandardScaler(), LogisticRegression()), Y_BIN, "native"),
    # fitted on a DataFrame: scikit-learn checks feature names; the fast path matches them
    "logistic-on-frame": (LogisticRegression(), Y_MULTI, "sklearn-linear"),
    "forest-on-frame": (RandomForestClassifier(n_estimators=5, random_state=0), Y_BIN,
                        "sklearn-trees"),
}


def _served(zoo: Zoo, estimator: Any, y: Any, *, frame: bool = False,
            package: str = "compiled") -> Predictor:
    """``package``: ``compiled`` (as logged today, loaded eagerly), ``lazy`` (the server's
    way: the estimator stays on disk) or ``old`` (no compiled arrays, as packages logged
    before them: the fast path is extracted from the estimator and checked at load)."""
    estimator.fit(pd.DataFrame(X, columns=COLS) if frame else X, y)
    run = zoo.client.tracking.create_run(experiment="fast-paths")
    with pytest.MonkeyPatch.context() as mp:
        if package == "old":
            mp.setattr("shipyard.models._compiled.save", lambda *a: None)
        zoo.client.models.log_model(run.id, estimator,
                                    input_example=pd.DataFrame(X[:30], columns=COLS))
    model = zoo.client.models.load_model(f"runs:/{run.id}/model", lazy=package == "lazy")
    predictor = Predictor(model)
    predictor.enable_fast_path(X[:30])
    return predictor


@pytest.mark.parametrize("package", ["compiled", "lazy", "old"])
@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_matches_the_estimator(zoo: Zoo, case: str, package: str) -> None:
    estimator, y, path = CASES[case]
    frame = case.endswith("-on-frame")
    predictor = _served(zoo, estimator, y, frame=frame, package=package)
    assert predictor.path == path
    compiled = predictor.model.metadata["flavor_options"].get("compiled")
    assert (compiled is not None) == (path != "native" and package != "old")
    test = rng.normal(size=(600, 4)) * 3
    for rows in (test[:1], test[:100], test):  # one block, then blocks of 256 rows and more
        pred, proba = predictor.both(predictor.prepare(rows))
        if frame:
            rows = pd.DataFrame(rows, columns=COLS)
        want = estimator.predict(rows)
        if want.dtype.kind == "f":
            np.testing.assert_allclose(pred, want, rtol=1e-12)
        else:
            assert pred.tolist() == want.tolist()
        if hasattr(estimator, "predict_proba"):
            np.testing.assert_allclose(proba, estimator.predict_proba(rows), rtol=1e-12,
                                       atol=1e-15)
        else:
            assert proba is None
    if package == "lazy":  # the estimator was never unpickled unless the model needs it
        assert predictor.model.loaded == (path == "native")


def test_non_finite_input_takes_the_native_path_and_its_error(zoo: Zoo) -> None:
    predictor = _served(zoo, LogisticRegression(), Y_BIN)
    with pytest.raises(ValueError, match="NaN"):
        predictor.both(np.array([[np.nan, 0.0, 0.0, 0.0]]))
    forest = _served(zoo, RandomForestClassifier(n_estimators=3, random_state=0), Y_BIN)
    with pytest.raises(ValueError, match=r"float32|infinity|too large"):
        forest.both(np.array([[1e300, 0.0, 0.0, 0.0]]))


def test_huge_values_overflow_quietly_like_numpy(zoo: Zoo) -> None:
    predictor = _served(zoo, LogisticRegression(), Y_BIN)
    pred, proba = predictor.both(np.array([[1e308, 1e308, -1e308, 1e308]]))
    assert pred.shape == (1,)
    assert proba.shape == (1, 2)


def test_records_decode_through_the_numpy_fast_path(zoo: Zoo) -> None:
    model = zoo.client.models.load_model("models:/lr@champion")
    spec = InputSpec.of(model)
    assert spec.numeric
    rows = [dict(zip(COLS, r, strict=True)) for r in X[:3].tolist()]
    out = from_records(rows, spec, model, maybe_bool=False)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, X[:3])
    slow = from_records(rows, spec, model, maybe_bool=True)  # the general path agrees
    np.testing.assert_array_equal(slow, out)


@pytest.mark.parametrize("estimator", [LogisticRegression(), RandomForestClassifier(
    n_estimators=10, max_depth=5, random_state=0)], ids=["logistic", "forest"])
def test_onnx_models_run_on_one_onnxruntime_pass(zoo: Zoo, estimator: Any) -> None:
    estimator.fit(X, Y_MULTI)
    run = zoo.client.tracking.create_run(experiment="fast-paths")
    zoo.client.models.log_model(run.id, estimator, format="onnx",
                                input_example=pd.DataFrame(X[:30], columns=COLS))
    model = zoo.client.models.load_model(f"runs:/{run.id}/model")
    predictor = Predictor(model)
    assert predictor.try_fast_path(X[:30])
    assert predictor.path == "onnxruntime"
    test = rng.normal(size=(64, 4))
    pred, proba = predictor.both(predictor.prepare(test))
    assert pred.tolist() == model.predict(test).tolist()
    np.testing.assert_allclose(proba, model.predict_proba(test), rtol=1e-6)
    assert pred.tolist() == estimator.predict(test).tolist()

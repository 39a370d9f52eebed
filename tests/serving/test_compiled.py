"""Compiled arrays in model packages: a model server predicts scikit-learn linear models and
tree ensembles with numpy alone, exactly as scikit-learn does, and loads the estimator only
for what the arrays cannot answer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from tests.serving.conftest import COLS, Zoo

from shipyard.models import _compiled
from shipyard.serving._fast import Predictor

rng = np.random.default_rng(5)
X = rng.normal(size=(500, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


def _log(zoo: Zoo, estimator: object, example: pd.DataFrame | None = None) -> str:
    run = zoo.client.tracking.create_run(experiment="compiled")
    zoo.client.models.log_model(run.id, estimator, input_example=(
        pd.DataFrame(X[:40], columns=COLS) if example is None else example))
    return f"runs:/{run.id}/model"


def test_the_package_records_the_arrays_and_hashes_them(zoo: Zoo) -> None:
    uri = _log(zoo, RandomForestClassifier(n_estimators=7, max_depth=4,
                                           random_state=0).fit(X, Y))
    model = zoo.client.models.load_model(uri, lazy=True)
    entry = model.metadata["flavor_options"]["compiled"]
    assert (entry["kind"], entry["width"], entry["classes"]) == ("trees", 4, [0, 1])
    assert entry["file"] == "data/compiled.npz"
    assert "data/compiled.npz" in model.metadata["files"]  # integrity-checked on download
    assert not model.loaded


def test_tree_decisions_at_the_thresholds_are_scikit_learns(zoo: Zoo) -> None:
    """Inputs exactly on every threshold (as float32 rounds it) and one float32 step either
    side: the stored float32 threshold must send each the way scikit-learn does."""
    forest = ExtraTreesRegressor(n_estimators=12, max_depth=8, random_state=0).fit(
        X, X @ np.array([1.0, -1.0, 2.0, 0.5]))
    model = zoo.client.models.load_model(_log(zoo, forest), lazy=True)
    predictor = Predictor(model)
    assert predictor.enable_fast_path(X[:40])
    assert predictor.path == "sklearn-trees"
    rows = []
    for est in forest.estimators_:
        tree = est.tree_
        for feature, threshold in zip(tree.feature, tree.threshold, strict=True):
            if feature < 0:
                continue
            at = np.float32(threshold)
            for value in (np.nextafter(at, np.float32(-np.inf)), at,
                          np.nextafter(at, np.float32(np.inf))):
                row = X[len(rows) % len(X)].copy()
                row[feature] = float(value)
                rows.append(row)
    grid = np.array(rows)
    assert len(grid) > 1000
    pred, _ = predictor.both(grid)
    np.testing.assert_allclose(pred, forest.predict(grid), rtol=1e-12, atol=0)
    assert not model.loaded


def test_what_the_arrays_cannot_answer_loads_the_estimator(zoo: Zoo) -> None:
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y)
    model = zoo.client.models.load_model(_log(zoo, forest), lazy=True)
    predictor = Predictor(model)
    assert predictor.enable_fast_path(X[:40])
    nan_row = np.array([[np.nan, 0.5, 0.0, 0.0]])
    pred, proba = predictor.both(nan_row)  # scikit-learn's trees route NaN themselves
    assert model.loaded
    assert pred.tolist() == forest.predict(nan_row).tolist()
    np.testing.assert_allclose(proba, forest.predict_proba(nan_row))

    linear = LogisticRegression().fit(X, Y)
    lazy = zoo.client.models.load_model(_log(zoo, linear), lazy=True)
    predictor = Predictor(lazy)
    assert predictor.enable_fast_path(X[:40])
    with pytest.raises(ValueError, match="NaN"):  # the estimator's own error, as before
        predictor.both(nan_row)


def test_a_model_the_arrays_do_not_reproduce_stores_none(zoo: Zoo) -> None:
    """`save` checks the arrays against the estimator before writing them: a build that
    disagrees (simulated) leaves the package without them, served as before."""
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    with pytest.MonkeyPatch.context() as mp:
        real = _compiled.build

        def off_by_one(meta: dict, arrays: dict):  # type: ignore[no-untyped-def]
            fast = real(meta, arrays)
            return lambda x: (1 - fast(x)[0], fast(x)[1])

        mp.setattr(_compiled, "build", off_by_one)
        uri = _log(zoo, forest)
    model = zoo.client.models.load_model(uri, lazy=True)
    assert "compiled" not in model.metadata["flavor_options"]
    assert model.loaded  # nothing to be lazy with


def test_a_string_labelled_frame_model_round_trips(zoo: Zoo) -> None:
    frame = pd.DataFrame(X, columns=COLS)
    labels = np.array(["stay", "churn"])[Y]
    linear = LogisticRegression().fit(frame, labels)
    model = zoo.client.models.load_model(_log(zoo, linear), lazy=True)
    predictor = Predictor(model)
    assert predictor.enable_fast_path(X[:40])
    assert predictor.frame
    pred, proba = predictor.both(X[:50])
    assert pred.tolist() == linear.predict(frame.iloc[:50]).tolist()
    np.testing.assert_allclose(proba, linear.predict_proba(frame.iloc[:50]), rtol=1e-9)
    assert predictor.classes == linear.classes_.tolist()
    assert not model.loaded


SERVE_WITHOUT_SKLEARN = textwrap.dedent('''
    import json, sys
    import numpy as np
    from shipyard.client import Client
    from shipyard.serving import ModelHost

    with Client(home=sys.argv[1]) as client:
        host = ModelHost.from_client(client, [f"{sys.argv[2]}=models:/{sys.argv[2]}@champion"])
        host.load()
        served = host.current(sys.argv[2])
        x = np.array(json.loads(sys.argv[3]))
        pred, proba = served.predictor.both(served.predictor.prepare(x))
        heavy = sorted(m for m in ("sklearn", "scipy", "pandas", "joblib") if m in sys.modules)
        print(json.dumps({"path": served.predictor.path, "pred": pred.tolist(),
                          "proba": proba.tolist(), "heavy": heavy}))
''')


@pytest.mark.parametrize("name", ["lr", "rf"])
def test_a_served_model_never_imports_scikit_learn(zoo: Zoo, name: str) -> None:
    """A fresh process serving the zoo's models loads, warms up and predicts with numpy
    alone, and its answers are the estimator's."""
    rows = zoo.X[:20]
    out = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_SKLEARN, str(zoo.client.settings.home_path),
         name, json.dumps(rows.tolist())], capture_output=True, text=True, timeout=120,
        check=False, cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    estimator = getattr(zoo, name)  # fitted on a plain array
    assert got["path"] == {"lr": "sklearn-linear", "rf": "sklearn-trees"}[name]
    assert got["pred"] == estimator.predict(rows).tolist()
    np.testing.assert_allclose(got["proba"], estimator.predict_proba(rows), rtol=1e-9)


def test_an_example_with_text_columns_stores_no_arrays(zoo: Zoo) -> None:
    """A pipeline over text columns (pandas string/category dtypes) is not covered; logging
    it must simply store no arrays (this once failed on pandas' StringDtype)."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"plan": pd.array(["a", "b", "a", "c"] * 25, dtype="string"),
                          "tier": pd.Categorical(["x", "y"] * 50), "spend": X[:100, 0]})
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["plan", "tier"]),
                                                  remainder="passthrough"),
                          LogisticRegression()).fit(frame, Y[:100])
    uri = _log(zoo, model, example=frame.head(10))
    loaded = zoo.client.models.load_model(uri, lazy=True)
    assert "compiled" not in loaded.metadata["flavor_options"]
    assert loaded.predict(frame.head(3)).tolist() == model.predict(frame.head(3)).tolist()


SLIM_IMAGE = textwrap.dedent('''
    import json, sys

    class NotInstalled:  # a serving image without scikit-learn, pandas or joblib
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("sklearn", "pandas", "joblib", "scipy"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    import numpy as np
    from shipyard.client import Client
    from shipyard.errors import ShipyardError
    from shipyard.serving import ModelHost

    with Client(home=sys.argv[1]) as client:
        host = ModelHost.from_client(client, ["rf=models:/rf@champion"])
        host.load()
        predictor = host.current("rf").predictor
        pred, _ = predictor.both(np.zeros((3, 4)))
        try:
            predictor.both(np.array([[np.nan, 0.0, 0.0, 0.0]]))
            outcome = "answered"
        except ShipyardError as exc:
            outcome = [exc.code, exc.message, exc.hint]
        print(json.dumps({"pred": pred.tolist(), "nan": outcome}))
''')


def test_a_server_without_scikit_learn_answers_finite_rows_and_explains_the_rest(
        zoo: Zoo) -> None:
    """A slim image (no scikit-learn, pandas, joblib) serves compiled models; a row only the
    estimator could score gets a 400-class error naming why, not a crash."""
    out = subprocess.run(
        [sys.executable, "-c", SLIM_IMAGE, str(zoo.client.settings.home_path)],
        capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["pred"] == zoo.rf.predict(np.zeros((3, 4))).tolist()
    code, message, hint = got["nan"]
    assert code == "prediction-failed"
    assert "cannot load the estimator" in message
    assert "shipyard[sklearn]" in hint


def test_arrays_checked_in_another_column_order_are_not_used(zoo: Zoo) -> None:
    """The arrays were checked with the example's columns in signature order; if the
    signature a server validates against ever differs, it must not feed them a matrix in
    the wrong order (it falls back to the estimator)."""
    model = zoo.client.models.load_model(_log(zoo, LogisticRegression().fit(X, Y)), lazy=True)
    entry = model.metadata["flavor_options"]["compiled"]
    assert entry["columns"] == COLS
    entry["columns"] = list(reversed(COLS))
    predictor = Predictor(model)
    assert not predictor.enable_fast_path(X[:40])
    assert predictor.path == "native"

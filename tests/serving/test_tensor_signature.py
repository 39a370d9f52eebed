"""A model whose signature is a tensor (logged with a numpy input example) is served like
any other: the numeric-matrix fast path steps aside instead of failing at warm-up."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from tests.serving.conftest import Zoo

from shipyard.models._signature import validate_matrix
from shipyard.serving._fast import Predictor


def test_a_tensor_signature_is_served_through_the_fast_path(zoo: Zoo) -> None:
    estimator = LogisticRegression().fit(zoo.X, zoo.y)
    run = zoo.client.tracking.create_run(experiment="tensor-signature")
    zoo.client.models.log_model(run.id, estimator, input_example=zoo.X[:10])
    model = zoo.client.models.load_model(f"runs:/{run.id}/model")
    assert model.signature is not None
    assert model.signature.is_tensor
    assert validate_matrix(model.signature.inputs, zoo.X[:3]) is None  # type: ignore[arg-type]

    predictor = Predictor(model)
    assert predictor.try_fast_path(zoo.X[:10])  # what warm-up does
    rows = zoo.X[:50]
    pred, proba = predictor.both(predictor.prepare(rows))
    assert pred.tolist() == estimator.predict(rows).tolist()
    np.testing.assert_allclose(proba, estimator.predict_proba(rows), rtol=1e-12)

"""Sample scikit-learn-compatible models: a slow one (requests pile up) and a broken one."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class SlowClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, delay: float = 0.03) -> None:
        self.delay = delay

    def fit(self, X: Any, y: Any) -> SlowClassifier:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> Any:
        time.sleep(self.delay)
        return (np.asarray(X)[:, 0] > 0).astype(np.int64)


class BrokenClassifier(SlowClassifier):
    """Loads fine, then fails on every prediction (so its warm-up fails)."""

    def predict(self, X: Any) -> Any:
        msg = "this model is broken"
        raise RuntimeError(msg)

"""Train and track candidate models and a small sweep (nested runs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.quickstart._data import CATEGORICAL, FEATURES, NUMERIC, TARGET

EXPERIMENT = "churn"


@dataclass
class Candidate:
    name: str
    run_id: str
    val_auc: float
    model: Any


def _pipeline(estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("num", StandardScaler(), list(NUMERIC)),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
    ])
    return Pipeline([("pre", pre), ("model", estimator)])


def _evaluate(model: Any, frame: Any, prefix: str) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    proba = model.predict_proba(frame[list(FEATURES)])[:, 1]
    y = frame[TARGET]
    return {f"{prefix}_auc": float(roc_auc_score(y, proba)),
            f"{prefix}_accuracy": float(accuracy_score(y, proba >= 0.5)),
            f"{prefix}_f1": float(f1_score(y, proba >= 0.5)),
            f"{prefix}_log_loss": float(log_loss(y, proba))}


def train_candidates(train: Any, val: Any, test: Any,
                     say: Callable[[str], None]) -> list[Candidate]:
    """Logistic regression, random forest, and a gradient-boosting sweep as nested runs.

    OpenMP (gradient boosting's threads) is held to one thread: on 3,600 rows more threads
    gain nothing, and with another process busy on the second core OpenMP's spinning
    threads made this step take 19 s instead of 1.7 s here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _train(train, val, test, say)


def _train(train: Any, val: Any, test: Any, say: Callable[[str], None]) -> list[Candidate]:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    import shipyard

    shipyard.set_experiment(EXPERIMENT)
    x_train, y_train = train[list(FEATURES)], train[TARGET]
    out: list[Candidate] = []

    def fit(name: str, params: dict[str, Any], estimator: Any, *, nested: bool = False) -> None:
        t0 = time.perf_counter()
        with shipyard.start_run(run_name=name, nested=nested) as run:
            for frame, ctx in ((train, "training"), (val, "validation"), (test, "test")):
                shipyard.log_input(frame, name="churn", context=ctx,
                                   source="shipyard.quickstart.make_churn(seed=7)")
            shipyard.log_params({"model": name.split("-")[0], **params})
            model = _pipeline(estimator).fit(x_train, y_train)
            metrics = {**_evaluate(model, val, "val"), **_evaluate(model, test, "test")}
            start = time.perf_counter()
            model.predict_proba(x_train.head(1))
            metrics["latency_ms"] = (time.perf_counter() - start) * 1000
            metrics["train_seconds"] = time.perf_counter() - t0
            shipyard.log_metrics(metrics)
            shipyard.log_model(model, "model", input_example=x_train.head(5),
                               reference_data=x_train)
        out.append(Candidate(name, run.id, metrics["val_auc"], model))
        say(f"  {name:<24} val AUC {metrics['val_auc']:.4f}  run {run.id[:12]}")

    fit("logreg", {"C": 1.0}, LogisticRegression(max_iter=1000, C=1.0))
    fit("random_forest", {"n_estimators": 120, "max_depth": 8},
        RandomForestClassifier(n_estimators=120, max_depth=8, random_state=0, n_jobs=2))
    with shipyard.start_run(run_name="hgb-sweep") as sweep:
        for lr in (0.05, 0.15):
            for depth in (3, 6):
                params = {"learning_rate": lr, "max_depth": depth, "max_iter": 150}
                fit(f"hgb-lr{lr}-d{depth}", params,
                    HistGradientBoostingClassifier(random_state=0, **params), nested=True)
        best = max((c for c in out if c.name.startswith("hgb")), key=lambda c: c.val_auc)
        shipyard.log_metric("best_val_auc", best.val_auc)
        shipyard.set_tag("best_child", best.run_id)
    say(f"  sweep run {sweep.id[:12]}: 4 gradient-boosting trials, best {best.name}")
    return out

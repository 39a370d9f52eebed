"""The tracking demo behind ``shipyard quickstart``: a few scikit-learn models on a dataset
that ships with scikit-learn, tracked end to end (no downloads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

EXPERIMENT = "quickstart-breast-cancer"


def run_demo(say: Callable[[str], None]) -> dict[str, Any]:
    """Train, track and compare models; returns ids and timings for callers and tests."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import shipyard

    t0 = time.perf_counter()
    data = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = data.frame
    train, test = train_test_split(frame, test_size=0.25, random_state=7,
                                   stratify=frame["target"])
    x_train, y_train = train.drop(columns="target"), train["target"]
    x_test, y_test = test.drop(columns="target"), test["target"]
    say(f"1/3 dataset: breast cancer, {len(train)} train rows, {len(test)} test rows")

    candidates: list[tuple[str, dict[str, Any], Any]] = [
        ("logreg", {"C": 1.0}, lambda p: make_pipeline(StandardScaler(),
                                                       LogisticRegression(max_iter=500, **p))),
        ("random_forest", {"n_estimators": 100, "max_depth": 6},
         lambda p: RandomForestClassifier(random_state=0, n_jobs=2, **p)),
    ]
    run_ids: list[str] = []
    shipyard.set_experiment(EXPERIMENT)

    def fit_and_log(kind: str, params: dict[str, Any], build: Any) -> float:
        model = build(params).fit(x_train, y_train)
        proba = model.predict_proba(x_test)[:, 1]
        auc = float(roc_auc_score(y_test, proba))
        shipyard.log_params({"model": kind, **params})
        shipyard.log_metrics({"test_auc": auc,
                              "test_accuracy": float(accuracy_score(y_test, proba > 0.5)),
                              "test_log_loss": float(log_loss(y_test, proba))})
        return auc

    for kind, params, build in candidates:
        with shipyard.start_run(run_name=kind) as run:
            shipyard.log_input(train, name="breast_cancer", context="training",
                               source="sklearn.datasets.load_breast_cancer")
            shipyard.log_input(test, name="breast_cancer", context="test",
                               source="sklearn.datasets.load_breast_cancer")
            auc = fit_and_log(kind, params, build)
            run_ids.append(run.id)
        say(f"2/3 trained {kind:<14} test AUC {auc:.4f}  run {run.id}")

    best = ("", -1.0, "")
    with shipyard.start_run(run_name="gbm-sweep") as sweep:
        for lr in (0.05, 0.1, 0.2):
            for depth in (2, 3):
                with shipyard.start_run(run_name=f"gbm-lr{lr}-d{depth}", nested=True) as child:
                    params = {"learning_rate": lr, "max_depth": depth, "n_estimators": 60}
                    model = GradientBoostingClassifier(random_state=0, **params)
                    model.fit(x_train, y_train)
                    for step, proba in enumerate(model.staged_predict_proba(x_test)):
                        shipyard.log_metric("test_log_loss_by_tree",
                                            float(log_loss(y_test, proba[:, 1])), step=step)
                    auc = fit_and_log("gbm", params, lambda p, m=model: m)
                    if auc > best[1]:
                        best = (child.id, auc, f"lr={lr} depth={depth}")
        shipyard.log_metric("best_test_auc", best[1])
        shipyard.set_tag("best_child", best[0])
        run_ids.append(sweep.id)
    say(f"2/3 sweep of 6 gradient-boosting runs, best {best[2]} AUC {best[1]:.4f}")

    top = shipyard.search_runs(EXPERIMENT, filter="metrics.test_auc > 0",
                               order_by=["metrics.test_auc DESC"], max_results=3)
    say("3/3 top runs by test AUC: " + ", ".join(
        f"{r.name} ({r.metrics['test_auc']:.4f})" for r in top))
    return {"experiment": EXPERIMENT, "run_ids": run_ids, "best_run": top[0].id,
            "seconds": time.perf_counter() - t0}

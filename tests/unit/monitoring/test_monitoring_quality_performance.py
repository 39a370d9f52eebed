"""Data quality checks, performance metrics (against scikit-learn) and the late-label join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from shipyard.models import infer_signature, signature_to_dict
from shipyard.monitoring import (
    classification_metrics,
    join_labels,
    performance_report,
    quality_report,
    regression_metrics,
)


# -- quality ----------------------------------------------------------------------------------
@pytest.fixture
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 80, 1000).astype("int64"),
                         "income": rng.normal(50, 10, 1000),
                         "city": rng.choice(["a", "b", "c"], 1000)})


def test_quality_finds_each_kind_of_problem(reference: pd.DataFrame) -> None:
    sig = signature_to_dict(infer_signature(reference))
    cur = pd.DataFrame({
        "age": [20, 30, 200, 40, None, 50, 60, 70, 25, 35],
        "income": ["50", "x", "51", "49", "52", "48", "y", "50", "50", "50"],
        "city": ["a", "b", "zz", "zz", "a", "a", "b", "c", "a", None],
        "copy": [20, 30, 200, 40, None, 50, 60, 70, 25, 35],
        "flat": [1.0] * 10,
    })
    q = quality_report(cur, reference=reference, signature=sig, expected_rows=100)
    by = {c.column: c for c in q.columns}
    assert by["age"].missing == pytest.approx(0.1)
    assert by["age"].out_of_range == pytest.approx(1 / 9)
    assert by["income"].type_errors == pytest.approx(0.2)
    assert by["city"].unseen == pytest.approx(2 / 9)
    assert by["copy"].duplicate_of == "age"
    assert by["flat"].constant is True
    assert q.volume_ratio == pytest.approx(0.1)
    text = "\n".join(q.issues)
    for needle in ("outside the training range", "are not float64", "never had",
                   "duplicates column 'age'", "constant", "10 rows where about 100"):
        assert needle in text
    assert set(q.extra_columns) == {"copy", "flat"}
    values = q.values()
    assert values["type_errors.income"] == pytest.approx(0.2)
    assert values["unseen.city"] == pytest.approx(2 / 9)
    assert values["quality.duplicated_columns"] == 1.0


def test_clean_data_has_no_issues(reference: pd.DataFrame) -> None:
    q = quality_report(reference.sample(300, random_state=1), reference=reference,
                       signature=signature_to_dict(infer_signature(reference)),
                       expected_rows=300)
    assert q.issues == []
    assert q.missing_columns == ()


def test_missing_columns_are_reported(reference: pd.DataFrame) -> None:
    q = quality_report(reference[["age"]], reference=reference)
    assert q.missing_columns == ("city", "income")


# -- metrics ----------------------------------------------------------------------------------
def test_binary_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    pred = (p > 0.5).astype(int)
    got = classification_metrics(y, pred, proba=p, classes=[0, 1])
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p))


def test_multiclass_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    y = rng.choice(["cat", "dog", "eel"], 400)
    raw = rng.random((400, 3)) + (y[:, None] == np.array(["cat", "dog", "eel"])) * 0.8
    proba = raw / raw.sum(axis=1, keepdims=True)
    got = classification_metrics(y, proba=proba, classes=["cat", "dog", "eel"])
    pred = np.array(["cat", "dog", "eel"])[proba.argmax(axis=1)]
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["cat", "dog",
                                                                            "eel"]))


def test_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    p = y + rng.normal(0, 0.3, 300)
    got = regression_metrics(y, p)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert got["r2"] == pytest.approx(skm.r2_score(y, p))


def test_auc_is_none_with_one_class_present() -> None:
    assert classification_metrics([1, 1], [1, 0], proba=[0.9, 0.2], classes=[0, 1])[
        "auc"] is None


# -- the label join ---------------------------------------------------------------------------
def _predictions() -> pd.DataFrame:
    return pd.DataFrame({"request_id": ["r1", "r2", "r3", "r4"], "row": [0, 0, 0, 0],
                         "timestamp": [1000, 2000, 3000, 4000],
                         "output.prediction": [1, 0, 1, 0],
                         "output.proba_0": [0.2, 0.7, 0.4, 0.9],
                         "output.proba_1": [0.8, 0.3, 0.6, 0.1]})


def test_latest_feedback_wins_whatever_the_arrival_order() -> None:
    feedback = pd.DataFrame({
        "request_id": ["r2", "r1", "r1", "r2", "r1"],
        "row": [0, 0, 0, 0, 0],
        "label": ["1", "0", "1", "0", "0"],
        "timestamp": [9000, 8000, 9500, 7000, 9500],  # r1: two at 9500, the later row wins
    })
    joined = join_labels(_predictions(), feedback).set_index("request_id")
    assert joined.loc["r1", "label"] == "0"
    assert joined.loc["r2", "label"] == "1"
    assert pd.isna(joined.loc["r3", "label"])
    assert len(joined) == 4


def test_duplicate_predictions_keep_the_latest() -> None:
    preds = pd.concat([_predictions(), _predictions().iloc[[0]].assign(
        timestamp=5000, **{"output.prediction": 0})])
    joined = join_labels(preds, None)
    assert len(joined) == 4
    assert joined.set_index("request_id").loc["r1", "output.prediction"] == 0


def test_rows_of_a_batch_request_are_joined_row_by_row() -> None:
    preds = pd.DataFrame({"request_id": ["b", "b"], "row": [0, 1], "timestamp": [1, 1],
                          "output.prediction": [1, 0]})
    fb = pd.DataFrame({"request_id": ["b", "b"], "row": [1, 0], "label": ["0", "1"],
                       "timestamp": [5, 5]})
    joined = join_labels(preds, fb)
    assert list(joined.sort_values("row")["label"]) == ["1", "0"]


def test_performance_reports_coverage_and_holds_back_metrics_on_few_labels() -> None:
    fb = pd.DataFrame({"request_id": ["r1", "r2"], "label": [1, 0], "timestamp": [5, 5]})
    rep = performance_report(_predictions(), fb, min_labels=3, validation={"val_auc": 0.9})
    assert rep.overall.coverage == 0.5
    assert rep.overall.metrics["accuracy"] == 1.0
    values = rep.values()
    assert values["label_coverage"] == 0.5
    assert "accuracy" not in values  # 2 labels < min_labels
    assert values["validation.auc"] == 0.9
    rep = performance_report(_predictions(), fb, min_labels=2, validation={"auc": 0.9})
    assert rep.values()["delta.auc"] == pytest.approx(1.0 - 0.9)


def test_windowed_performance() -> None:
    preds = _predictions().assign(timestamp=[0, 1000, 3_600_000, 3_601_000])
    fb = pd.DataFrame({"request_id": ["r1", "r2", "r3"], "label": [1, 1, 1],
                       "timestamp": [9e9, 9e9, 9e9]})
    rep = performance_report(preds, fb, window=3600)
    assert [(w.predictions, w.labelled) for w in rep.windows] == [(2, 2), (2, 1)]
    assert rep.windows[0].metrics["accuracy"] == 0.5
    assert rep.windows[1].coverage == 0.5
    assert len(rep.to_frame()) == 2


@pytest.mark.parametrize(("values", "dtype", "usable"), [
    (["yes", "no", None], object, True),
    (["yes", "no"], "string", True),
    ([1, "a", 2.5], object, True),
    ([True, False], object, True),
    ([[0.1, 0.2], [0.3, 0.4]], object, False),
    (["a", {"k": 1}], object, False),
    ([None, [1]], object, False),
])
def test_prediction_drift_keeps_scalar_outputs_and_skips_lists_and_dicts(
        values: list[object], dtype: object, usable: bool) -> None:
    from shipyard.monitoring._service import _scalar_values

    assert _scalar_values(pd.Series(values, dtype=dtype)) is usable

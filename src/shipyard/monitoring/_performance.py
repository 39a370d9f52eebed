"""Model performance with labels that arrive late.

Ground truth is joined to logged predictions by request id: the latest feedback per request
wins (by feedback timestamp, then by arrival order), so duplicates and out-of-order
corrections are handled. Metrics are computed on the labelled predictions of each window and
always reported with the window's **label coverage** (labelled / predictions), so a metric on
3% of the traffic is not mistaken for the truth.

Classifiers: accuracy, precision, recall, F1 (binary: of the positive class; more classes:
macro averages), ROC AUC (from the positive class probability; one-vs-rest macro for more
classes) and log loss. Regressors: MAE, RMSE, R². The arithmetic follows scikit-learn's
definitions (and is tested against it) but needs only numpy and scipy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.monitoring._deps import need
from shipyard.monitoring._drift import _json_safe
from shipyard.monitoring._frames import to_frame

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "auc", "r2"}
PREDICTION = "output.prediction"
PROBA_PREFIX = "output.proba_"
_VALIDATION_ALIASES = {"auc": ("auc", "roc_auc"), "log_loss": ("log_loss", "logloss"),
                       "f1": ("f1", "f1_score")}


# -- metric kernels ------------------------------------------------------------------------
def _binary_auc(is_pos: Any, score: Any) -> float | None:
    """ROC AUC as the Mann-Whitney statistic with average ranks for ties."""
    from scipy.stats import rankdata

    n_pos = int(is_pos.sum())
    n_neg = int(is_pos.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _prf(y: Any, pred: Any, label: Any) -> tuple[float, float, float]:
    tp = float(((pred == label) & (y == label)).sum())
    fp = float(((pred == label) & (y != label)).sum())
    fn = float(((pred != label) & (y == label)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def classification_metrics(y_true: Any, y_pred: Any = None, *, proba: Any = None,
                           classes: Sequence[Any] | None = None,
                           positive_label: Any = None) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1, ROC AUC and log loss.

    ``proba``: an (n, k) array whose columns follow ``classes``, or ``{class: scores}``.
    Without ``y_pred`` the class of highest probability is the prediction. Binary problems
    report the positive class (``positive_label``, else the second of the sorted classes, as
    scikit-learn does); more classes report macro averages. A metric that cannot be computed
    (AUC with one class present, log loss without probabilities) is None."""
    np = need("numpy")
    y = np.asarray(y_true, dtype=object)
    if isinstance(proba, Mapping):
        classes = list(proba)
        proba = np.column_stack([np.asarray(proba[c], dtype=np.float64) for c in classes])
    elif proba is not None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1 - proba, proba])
    if proba is not None and classes is None:
        msg = "classes= must name the columns of a probability array."
        raise InvalidArgumentError(msg)
    if y_pred is None:
        if proba is None or classes is None:
            msg = "classification_metrics needs y_pred or proba."
            raise InvalidArgumentError(msg)
        pred = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]
    else:
        pred = np.asarray(y_pred, dtype=object)
    y, pred = _align_labels(y, pred, classes)
    if classes is not None:
        classes = list(_align_labels(np.asarray(classes, dtype=object), None, None)[0])
    out: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    n = y.size
    if n == 0:
        return out
    out["accuracy"] = float((y == pred).mean())
    labels = sorted(set(y.tolist()) | set(pred.tolist()) | set(classes or []), key=_sort_key)
    binary = len(labels) <= 2
    if binary:
        pos = positive_label if positive_label is not None else (
            labels[-1] if labels else None)
        out["precision"], out["recall"], out["f1"] = _prf(y, pred, pos)
    else:
        prf = [_prf(y, pred, label) for label in labels]
        for i, key in enumerate(("precision", "recall", "f1")):
            out[key] = float(np.mean([p[i] for p in prf]))
    if proba is not None and classes is not None:
        index = {c: i for i, c in enumerate(classes)}
        known = np.array([v in index for v in y.tolist()])
        if known.all():
            eps = np.finfo(np.float64).eps
            p = np.clip(proba, eps, 1 - eps)
            p = p / p.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            cols = np.array([index[v] for v in y.tolist()])
            out["log_loss"] = float(-np.mean(np.log(p[rows, cols])))
        if binary and len(classes) == 2:
            pos = positive_label if positive_label is not None else classes[-1]
            if pos in index:
                out["auc"] = _binary_auc(y == pos, proba[:, index[pos]])
        elif not binary:
            aucs = [_binary_auc(y == c, proba[:, index[c]]) for c in classes
                    if c in set(y.tolist())]
            aucs = [a for a in aucs if a is not None]
            out["auc"] = float(np.mean(aucs)) if aucs and len(aucs) == len(
                set(y.tolist())) else None
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _align_labels(y: Any, pred: Any, classes: Sequence[Any] | None) -> tuple[Any, Any]:
    """Make labels comparable across sources: 1.0 == 1 == "1" when classes are numbers."""
    np = need("numpy")

    def norm(values: Any) -> Any:
        out = []
        for v in values.tolist():
            if isinstance(v, bool):
                out.append(int(v))
            elif isinstance(v, str) and v.lower() in ("true", "false"):
                out.append(int(v.lower() == "true"))
            elif (isinstance(v, float) and v.is_integer()) or (
                    isinstance(v, str) and v.lstrip("-").isdigit()):
                out.append(int(v))
            else:
                out.append(v)
        return np.asarray(out, dtype=object)

    return norm(y), None if pred is None else norm(pred)


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float | None]:
    """MAE, RMSE and R² (1 - SS_res / SS_tot; 1.0 or 0.0 when the labels are constant,
    as scikit-learn reports)."""
    np = need("numpy")
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    out: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    if y.size == 0:
        return out
    err = p - y
    out["mae"] = float(np.mean(np.abs(err)))
    out["rmse"] = float(math.sqrt(np.mean(err * err)))
    ss_res = float(np.sum(err * err))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out["r2"] = (1.0 if ss_res == 0 else 0.0) if ss_tot == 0 else 1 - ss_res / ss_tot
    return out


# -- the label join --------------------------------------------------------------------------
def join_keys(predictions: Any, feedback: Any) -> list[str]:
    """``request_id`` plus ``row`` when both logs have it (a request may carry many rows)."""
    both = "row" in predictions.columns and (feedback is None or "row" in feedback.columns)
    return ["request_id", "row"] if both else ["request_id"]


def latest_feedback(feedback: Any, *, keys: Sequence[str] = ("request_id",),
                    label: str = "label", timestamp: str = "timestamp") -> Any:
    """One label per request (and row): the latest by timestamp; ties go to the later row."""
    fb = to_frame(feedback, what="feedback")
    for col in (*keys, label):
        if col not in fb.columns:
            msg = f"Feedback needs a {col!r} column; it has {list(fb.columns)!r}."
            raise InvalidArgumentError(msg)
    fb = fb.assign(_order=range(len(fb)))
    order = [timestamp, "_order"] if timestamp in fb.columns else ["_order"]
    fb = fb.sort_values(order, kind="stable").drop_duplicates(subset=list(keys), keep="last")
    extra = [c for c in ("label_number",) if c in fb.columns and c != label]
    return fb[[*keys, label, *extra]]


def join_labels(predictions: Any, feedback: Any, *, label: str = "label") -> Any:
    """Predictions with a ``label`` column (missing where no feedback arrived yet), joined on
    ``request_id`` (and ``row`` when both logs have it). A request logged twice keeps its
    latest prediction; feedback given twice keeps its latest label."""
    pred = to_frame(predictions, what="predictions")
    if "request_id" not in pred.columns:
        msg = "Predictions need a 'request_id' column to join labels."
        raise InvalidArgumentError(msg)
    fb = None if feedback is None else to_frame(feedback, what="feedback")
    keys = join_keys(pred, fb)
    if "timestamp" in pred.columns:
        pred = pred.sort_values("timestamp", kind="stable")
    pred = pred.drop_duplicates(subset=keys, keep="last")
    pred = pred.drop(columns=[c for c in (label, "label_number") if c in pred.columns])
    if fb is None or fb.empty:
        return pred.assign(**{label: None})
    fb = latest_feedback(fb, keys=keys, label=label)
    for key in keys:  # ids as text, rows as int, on both sides
        cast = "int64" if key == "row" else str
        pred = pred.assign(**{key: pred[key].astype(cast)})
        fb = fb.assign(**{key: fb[key].astype(cast)})
    return pred.merge(fb, on=keys, how="left")


# -- the report ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceWindow:
    """Metrics of one window (or of the whole data) with its label coverage."""

    start: int | None
    end: int | None
    predictions: int
    labelled: int
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "predictions": self.predictions,
                "labelled": self.labelled, "coverage": self.coverage,
                "metrics": dict(self.metrics)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceReport:
    """Overall metrics, per-window metrics, and the comparison with validation metrics."""

    task: str
    overall: PerformanceWindow
    windows: tuple[PerformanceWindow, ...] = ()
    validation: dict[str, float] = field(default_factory=dict)
    min_labels: int = 0

    @property
    def deltas(self) -> dict[str, float]:
        return {k: v - self.validation[k] for k, v in self.overall.metrics.items()
                if v is not None and k in self.validation}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "performance", "task": self.task, "overall": self.overall.to_dict(),
                "windows": [w.to_dict() for w in self.windows],
                "validation": dict(self.validation), "deltas": self.deltas,
                "min_labels": self.min_labels}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(_json_safe(self.to_dict()), **kwargs)

    def to_frame(self) -> Any:
        pd = need("pandas")
        rows = [{"start": w.start, "end": w.end, "predictions": w.predictions,
                 "labelled": w.labelled, "coverage": w.coverage, **w.metrics}
                for w in (self.windows or (self.overall,))]
        return pd.DataFrame(rows)

    def values(self) -> dict[str, float | None]:
        """``label_coverage``, ``labelled``, each metric (only with ``min_labels`` labels),
        ``validation.<metric>`` and ``delta.<metric>``."""
        o = self.overall
        out: dict[str, float | None] = {"label_coverage": o.coverage,
                                        "labelled": float(o.labelled),
                                        "predictions": float(o.predictions)}
        if o.labelled >= max(self.min_labels, 1):
            out.update(o.metrics)
            for k, v in self.deltas.items():
                out[f"delta.{k}"] = v
        for k, v in self.validation.items():
            out[f"validation.{k}"] = v
        return out


def infer_task(frame: Any, *, prediction: str = PREDICTION,
               proba_prefix: str = PROBA_PREFIX) -> str:
    """``classification`` when probabilities are logged or predictions are not floats."""
    pd = need("pandas")
    if any(str(c).startswith(proba_prefix) for c in frame.columns):
        return "classification"
    if prediction in frame.columns and pd.api.types.is_float_dtype(frame[prediction].dtype):
        values = frame[prediction].dropna()
        if len(values) and not (values == values.round()).all():
            return "regression"
        return "regression" if values.nunique() > 20 else "classification"
    return "classification"


def validation_metrics(version_metrics: Mapping[str, float], task: str) -> dict[str, float]:
    """The version's metrics that match ours: ``auc``, ``val_auc``, ``validation_auc``,
    ``val/auc``, ``test_auc`` (also ``roc_auc`` for ``auc``), first match wins."""
    names = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    out: dict[str, float] = {}
    for name in names:
        for alias in _VALIDATION_ALIASES.get(name, (name,)):
            for key in (f"val_{alias}", f"validation_{alias}", f"val/{alias}",
                        f"test_{alias}", alias):
                value = version_metrics.get(key)
                if isinstance(value, int | float) and not math.isnan(value):
                    out[name] = float(value)
                    break
            if name in out:
                break
    return out


def window_metrics(frame: Any, task: str, *, label: str = "label",
                   prediction: str = PREDICTION, proba_prefix: str = PROBA_PREFIX,
                   positive_label: Any = None) -> PerformanceWindow:
    """Metrics of the labelled rows of one window."""
    n = len(frame)
    labelled = frame[frame[label].notna()] if label in frame.columns else frame.iloc[:0]
    metrics: dict[str, float | None]
    if task == "regression":
        if len(labelled):
            pd = need("pandas")
            y = pd.to_numeric(labelled[label], errors="coerce")
            if "label_number" in labelled.columns:
                y = labelled["label_number"].astype("float64").fillna(y)
            metrics = regression_metrics(y.to_numpy(dtype="float64"),
                                         labelled[prediction].to_numpy(dtype="float64"))
        else:
            metrics = dict.fromkeys(REGRESSION_METRICS)
    else:
        proba_cols = [c for c in frame.columns if str(c).startswith(proba_prefix)]
        proba = None
        classes = None
        if proba_cols:
            classes = [str(c)[len(proba_prefix):] for c in proba_cols]
            proba = labelled[proba_cols].to_numpy(dtype="float64")
        y_pred = labelled[prediction] if prediction in labelled.columns else None
        if len(labelled):
            metrics = classification_metrics(
                labelled[label].to_numpy(dtype=object), None if y_pred is None else
                y_pred.to_numpy(dtype=object), proba=proba, classes=classes,
                positive_label=positive_label)
        else:
            metrics = dict.fromkeys(CLASSIFICATION_METRICS)
    return PerformanceWindow(start=None, end=None, predictions=n, labelled=len(labelled),
                             metrics=metrics)


def performance_report(predictions: Any, feedback: Any = None, *, task: str | None = None,
                       window: int | None = None, validation: Mapping[str, float] | None = None,
                       positive_label: Any = None, min_labels: int = 0,
                       label: str = "label") -> PerformanceReport:
    """Metrics of logged predictions against labels.

    ``predictions``: a DataFrame (or file) with ``request_id``, ``timestamp`` (ms),
    ``output.prediction`` and, for classifiers, ``output.proba_<class>``; it may already
    carry a ``label`` column. ``feedback``: rows of ``request_id``, ``label``, ``timestamp``
    (duplicates allowed; the latest wins). ``window``: seconds per window for the time
    series. ``validation``: the model version's metrics to compare with."""
    frame = to_frame(predictions, what="predictions")
    if feedback is not None:
        frame = join_labels(frame, feedback, label=label)
    if label not in frame.columns:
        frame = frame.assign(**{label: None})
    task = task or infer_task(frame)
    if task not in ("classification", "regression"):
        msg = f"task must be 'classification' or 'regression'. Got {task!r}."
        raise InvalidArgumentError(msg)
    overall = window_metrics(frame, task, label=label, positive_label=positive_label)
    windows: list[PerformanceWindow] = []
    if window and "timestamp" in frame.columns and len(frame):
        from shipyard.monitoring._log import timestamps_ms

        ms = timestamps_ms(frame["timestamp"])
        step = int(window * 1000)
        ids = ms // step
        for wid, part in frame.groupby(ids, sort=True):
            w = window_metrics(part, task, label=label, positive_label=positive_label)
            windows.append(PerformanceWindow(start=int(wid) * step, end=(int(wid) + 1) * step,
                                             predictions=w.predictions, labelled=w.labelled,
                                             metrics=w.metrics))
    return PerformanceReport(task=task, overall=overall, windows=tuple(windows),
                             validation=validation_metrics(validation or {}, task),
                             min_labels=min_labels)

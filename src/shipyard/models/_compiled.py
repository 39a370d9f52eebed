"""A scikit-learn model's prediction arithmetic as plain numpy arrays, saved in its package.

Why: a pickled estimator makes whoever loads it import scikit-learn, SciPy and pandas
(~0.9 s and ~200 MB per process, measured on the serving benchmark's models), although for
linear models and tree ensembles a prediction is a matrix product or a walk over node arrays.
`save` extracts those arrays when the model is logged, checks that numpy alone reproduces
scikit-learn's answers on the input example and seeded random rows, and writes them to
``compiled.npz`` next to the pickle. `load` rebuilds the predict function from the file with
numpy only: the model server uses it and unpickles the estimator only if a request needs the
estimator itself (a NaN, a value beyond float32).

Covered: ``LogisticRegression`` (binary, or multinomial), ``LinearRegression``, ``Ridge``,
``RandomForest*``, ``ExtraTrees*``, ``DecisionTree*`` (single output). Anything else, or a
failed check, stores nothing and the estimator is used as before.

Exactness: tree decisions are scikit-learn's (``float32(x) <= threshold``; the threshold is
stored as the largest float32 not above it, which gives the same decision for every float32
``x``), leaf values are summed over the trees in their order; linear models compute the same
product. Probabilities agree with scikit-learn's to 1e-9 relative (``expit``/``softmax`` are
numpy's, not SciPy's), labels exactly.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("shipyard.models")

FILE = "compiled.npz"
FORMAT = 1
RTOL, ATOL = 1e-9, 1e-12
TREE_CHUNK_ROWS = 256
"""Rows walked at once: the node arrays of a bigger block fall out of the CPU caches (per
row, 1,000 rows took 17% longer than 100 here)."""

_FORESTS = ("RandomForestClassifier", "ExtraTreesClassifier", "RandomForestRegressor",
            "ExtraTreesRegressor", "DecisionTreeClassifier", "DecisionTreeRegressor")
_LINEAR = ("LogisticRegression", "LinearRegression", "Ridge")

Both = Callable[[Any], tuple[Any, Any]]
"""``f(x) -> (predictions, probabilities or None)`` on a finite numeric matrix."""


# -- extracting (needs the fitted estimator) ----------------------------------------------
def export(est: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(meta, arrays)`` for a supported estimator, else None. ``meta`` is JSON."""
    import numpy as np

    name = type(est).__name__
    module = type(est).__module__
    width = int(getattr(est, "n_features_in_", -1))
    if width < 1:
        return None
    classes = getattr(est, "classes_", None)
    meta: dict[str, Any] = {"format": FORMAT, "width": width,
                            "frame": hasattr(est, "feature_names_in_")}
    if classes is not None:
        label = _labels(classes)
        if label is None:
            return None
        meta["classes"], meta["classes_dtype"] = label
    if name in _LINEAR and module.startswith("sklearn.linear_model"):
        coef = np.asarray(est.coef_)
        if coef.dtype.kind != "f":
            return None
        meta["kind"] = "linear"
        return meta, {"coef": coef, "intercept": np.asarray(est.intercept_, dtype=coef.dtype)}
    if name in _FORESTS and module.startswith(("sklearn.ensemble", "sklearn.tree")):
        if getattr(est, "n_outputs_", 1) != 1:
            return None
        arrays, depth = _pack_trees(est, classifier=classes is not None)
        meta.update(kind="trees", depth=depth, single=not hasattr(est, "estimators_"))
        return meta, arrays
    return None


def _labels(classes: Any) -> tuple[list[Any], str] | None:
    """Class labels as JSON and the dtype to rebuild them with (strings stay objects)."""
    if getattr(classes, "ndim", 1) != 1:
        return None
    kind = classes.dtype.kind
    values = classes.tolist()
    if kind in "biuf":
        return values, str(classes.dtype)
    if kind in "OU" and all(isinstance(v, str) for v in values):
        return values, "object" if kind == "O" else str(classes.dtype)
    return None


def _pack_trees(est: Any, *, classifier: bool) -> tuple[dict[str, Any], int]:
    """Every tree in one set of flat node arrays (leaves point at themselves), and the
    depth of the deepest tree (how many levels a walk takes)."""
    import numpy as np

    estimators = getattr(est, "estimators_", None)
    trees = [e.tree_ for e in estimators] if estimators is not None else [est.tree_]
    offsets = np.concatenate([[0], np.cumsum([t.node_count for t in trees])[:-1]])
    kids, features, thresholds = [], [], []
    for tree, off in zip(trees, offsets, strict=True):
        left, right = tree.children_left.astype(np.intp), tree.children_right.astype(np.intp)
        leaf = left == -1
        here = np.arange(tree.node_count, dtype=np.intp) + off
        kids.append(np.stack([np.where(leaf, here, left + off),
                              np.where(leaf, here, right + off)], axis=1))
        features.append(np.where(leaf, 0, tree.feature).astype(np.intp))
        thresholds.append(np.where(leaf, np.inf, tree.threshold))
    threshold = np.concatenate(thresholds)
    below = threshold.astype(np.float32)  # the largest float32 <= the float64 threshold
    below = np.where(below > threshold, np.nextafter(below, np.float32(-np.inf)), below)
    if classifier:
        n_classes = int(est.n_classes_)
        values = np.concatenate([t.value[:, 0, :n_classes] for t in trees])
    else:
        values = np.concatenate([t.value[:, 0, 0] for t in trees])
    return ({"children": np.concatenate(kids).reshape(-1), "feature": np.concatenate(features),
             "threshold": below, "values": values, "roots": offsets.astype(np.intp)},
            max(int(t.max_depth) for t in trees))


# -- rebuilding (numpy only) --------------------------------------------------------------
def build(meta: dict[str, Any], arrays: dict[str, Any]) -> Both:
    """The predict function of an exported model."""
    import numpy as np

    classes = None
    if "classes" in meta:
        classes = np.array(meta["classes"], dtype=meta["classes_dtype"])
    if meta["kind"] == "linear":
        return _linear(arrays["coef"], arrays["intercept"], classes)
    if meta["kind"] == "trees":
        return _trees(arrays, classes, depth=int(meta["depth"]), single=bool(meta["single"]))
    msg = f"Unknown compiled model kind {meta['kind']!r}."
    raise ValueError(msg)


def _linear(coef: Any, intercept: Any, classes: Any) -> Both:
    import numpy as np

    coef_t = coef.T if coef.ndim == 2 else coef

    def scores_of(x: Any) -> Any:
        scores = x @ coef_t + intercept
        if scores.ndim > 1 and scores.shape[1] == 1:
            scores = scores.reshape(-1)
        return scores

    if classes is None:
        return lambda x: (scores_of(x), None)
    binary = len(classes) <= 2

    def classify(x: Any) -> tuple[Any, Any]:
        scores = scores_of(x)
        if scores.ndim == 1:
            pred = classes.take((scores > 0).astype(np.intp), axis=0)
            if not binary:
                return pred, None
            out = np.empty((len(scores), 2), dtype=scores.dtype)
            np.negative(scores, out=out[:, 1])
            np.exp(out[:, 1], out=out[:, 1])
            out[:, 1] += 1
            np.reciprocal(out[:, 1], out=out[:, 1])  # expit: 1 / (1 + e^-s)
            np.subtract(1, out[:, 1], out=out[:, 0])
            return pred, out
        pred = classes.take(np.argmax(scores, axis=1), axis=0)
        if binary:
            return pred, None
        scores = scores - scores.max(axis=1, keepdims=True)  # softmax, as scikit-learn's
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return pred, scores

    return classify


def _trees(arrays: dict[str, Any], classes: Any, *, depth: int, single: bool) -> Both:
    """All rows and trees walked level by level: a few numpy operations per level instead
    of one call per tree; leaf values summed over the trees in order, then averaged."""
    import numpy as np

    children, feature = arrays["children"], arrays["feature"]
    threshold, values = arrays["threshold"], arrays["values"]
    roots = arrays["roots"][:, None]
    count = roots.shape[0]

    def walk(x32: Any) -> Any:
        # tree-major (a tree's rows side by side: its nodes stay in cache) and ``take`` with
        # mode="clip", which skips the bounds check (every index is valid by construction):
        # 0.47 -> 0.34 ms for 100 rows x 100 trees of depth 10 here
        flat = x32.reshape(-1)
        rows, width = x32.shape
        base = np.arange(rows, dtype=np.intp) * width
        node = np.repeat(roots, rows, axis=1)  # (trees, rows)
        for _ in range(depth):
            at = feature.take(node, mode="clip")
            at += base
            right = flat.take(at, mode="clip") > threshold.take(node, mode="clip")
            node *= 2
            node += right
            node = children.take(node, mode="clip")
        total = np.add.reduce(values.take(node, axis=0, mode="clip"), axis=0)  # trees in
        if not single:  # order, as scikit-learn sums them
            total /= count
        return total

    def combine(x: Any) -> Any:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x32).all():
            msg = "a value is too large for float32"
            raise ValueError(msg)
        if len(x32) <= TREE_CHUNK_ROWS:
            return walk(x32)
        return np.concatenate([walk(x32[i:i + TREE_CHUNK_ROWS])
                               for i in range(0, len(x32), TREE_CHUNK_ROWS)])

    if classes is None:
        return lambda x: (combine(x), None)

    def classify(x: Any) -> tuple[Any, Any]:
        proba = combine(x)
        return classes.take(np.argmax(proba, axis=1), axis=0), proba

    return classify


# -- checking -----------------------------------------------------------------------------
def verify(fast: Both, predict: Callable[[Any], Any], proba: Callable[[Any], Any] | None,
           example: Any, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether ``fast`` gives ``predict``'s labels exactly and ``proba``'s probabilities to
    ``rtol`` on the example's first finite row alone, all its finite rows, and 64 seeded
    random rows around them (twice their spread, so trees take branches the example does
    not)."""
    import numpy as np

    x = example[np.isfinite(example).all(axis=1)]
    if not len(x):
        return False
    rng = np.random.default_rng(20240601)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
    noisy = (rng.normal(size=(64, x.shape[1])) * std * 2 + mean).astype(x.dtype)
    if x.dtype.kind in "iu":
        noisy = np.round(noisy).astype(x.dtype)
    for sample in (x[:1], x, noisy):
        sample = np.ascontiguousarray(sample)
        try:
            with np.errstate(all="ignore"):
                pred, prob = fast(sample)
            want = np.asarray(predict(sample))
            want_p = None if proba is None else np.asarray(proba(sample))
        except (ValueError, TypeError, IndexError, FloatingPointError):
            return False
        if pred.shape != want.shape or (
                want.dtype.kind == "f" and not np.allclose(pred, want, rtol=rtol, atol=atol)) or (
                want.dtype.kind != "f" and not np.array_equal(pred, want)):
            return False
        if want_p is not None and (prob is None or prob.shape != want_p.shape or
                                   not np.allclose(prob, want_p, rtol=rtol, atol=atol)):
            return False
    return True


# -- the package file ---------------------------------------------------------------------
def save(est: Any, folder: Path, example: Any) -> dict[str, Any] | None:
    """Write ``compiled.npz`` into ``folder`` when ``est`` is covered and the arrays
    reproduce it on ``example`` (a DataFrame or matrix in the signature's column order);
    returns the manifest entry, or None (nothing written)."""
    import numpy as np

    matrix, columns = _numeric(example)
    if matrix is None:
        return None
    try:
        exported = export(est)
    except (AttributeError, TypeError, ValueError):
        return None
    if exported is None:
        return None
    meta, arrays = exported
    if matrix.shape[1] != meta["width"] or (
            meta["frame"] and [str(n) for n in est.feature_names_in_] != columns):
        return None
    as_native = _native_input(est, columns)
    proba = getattr(est, "predict_proba", None) if "classes" in meta else None
    fast = build(meta, arrays)
    if not verify(fast, lambda x: est.predict(as_native(x)),
                  None if proba is None else (lambda x: proba(as_native(x))), matrix):
        log.info("%s: the numpy arrays do not reproduce it; not stored", type(est).__name__)
        return None
    with (folder / FILE).open("wb") as out:
        np.savez(out, **arrays)
    # the column order the arrays were checked in: a server only uses them when its
    # validated input comes in that order
    return {**meta, "file": FILE, "columns": columns}


def _numeric(example: Any) -> tuple[Any, list[str]]:
    import numpy as np

    if example is None:
        return None, []
    if hasattr(example, "dtypes") and hasattr(example, "columns"):
        # pandas extension dtypes (string, category, nullable) have a kind too
        if not all(getattr(t, "kind", "O") in "biuf" for t in example.dtypes):
            return None, []
        try:
            matrix = example.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):  # e.g. a nullable column holding <NA>
            return None, []
        return matrix, [str(c) for c in example.columns]
    arr = np.asarray(example)
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        return None, []
    return arr, []


def _native_input(est: Any, columns: list[str]) -> Callable[[Any], Any]:
    if not hasattr(est, "feature_names_in_"):
        return lambda x: x
    import pandas as pd

    return lambda x: pd.DataFrame(x, columns=columns)


def load(folder: Path, meta: dict[str, Any]) -> Both:
    """The predict function from a package's ``compiled.npz`` (numpy only)."""
    import numpy as np

    if int(meta.get("format", 0)) != FORMAT:
        msg = f"compiled model format {meta.get('format')!r}; this Shipyard reads {FORMAT}"
        raise ValueError(msg)
    try:
        with np.load(folder / meta["file"], allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"cannot read {meta['file']!r}: {exc}"
        raise ValueError(msg) from exc
    return build(meta, arrays)

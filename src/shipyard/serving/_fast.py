"""How a served model is called: `Predictor`, with verified fast paths for common models.

scikit-learn spends most of a small prediction validating its input (dtype, finiteness,
feature names, array-API dispatch) and, for forests, dispatching every tree through joblib.
The serving host has already validated and cast the input against the signature, so for a
few estimator types whose prediction is simple arithmetic it calls that arithmetic directly
(`shipyard.models._compiled`): linear models as one matrix product, tree ensembles as one
walk over all their nodes.

Packages logged by this version carry that arithmetic as arrays (``compiled.npz``), checked
against the estimator when the model was logged: the predictor builds the fast path from
them without unpickling the estimator, so a server never imports scikit-learn unless a
request needs the estimator itself. For older packages the arrays are extracted from the
loaded estimator and checked here, on the model's input example plus seeded random rows:
predictions must be identical and probabilities equal to 1e-9 relative. Anything else
(another estimator, a pipeline, a failed check, a non-finite value in a request) goes
through the flavor's own ``predict``. Classifiers whose ``predict`` is by construction the
arg-max of ``predict_proba`` (trees, forests, and the fast linear path) give both outputs
from one pass, so logging probabilities costs nothing extra. The tree walk beats calling each
fitted tree's compiled ``tree_.predict`` at every batch size (measured: 100 rows 0.34 vs
0.75 ms, 4,000 rows 12.3 vs 17.1 ms, 100 trees of depth 10), so batch scoring uses it too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shipyard.errors import PredictionError
from shipyard.models import _compiled

if TYPE_CHECKING:
    from shipyard.models import PyFuncModel

log = logging.getLogger("shipyard.serving")
_RTOL, _ATOL = _compiled.RTOL, _compiled.ATOL

Both = _compiled.Both


class Predictor:
    """The calls the host makes on prepared (validated) input.

    ``both(x)`` returns ``(predictions, probabilities)`` (probabilities None for models
    without them); ``one_pass`` says whether it costs a single pass. ``path`` names the
    route taken (``native``, ``sklearn-linear``, ``sklearn-trees``)."""

    def __init__(self, model: PyFuncModel) -> None:
        self.model = model
        self.path = "native"
        self.has_proba = model.has_predict_proba
        self.one_pass = False
        self._fast: Both | None = None
        self._width = -1
        self._rtol = _RTOL
        sig = model.signature
        self.names: list[str] = sig.column_names if sig is not None else []
        self.compiled: dict[str, Any] | None = model.metadata.get(
            "flavor_options", {}).get("compiled") if model.flavor == "sklearn" else None
        self.classes: list[Any] | None = None
        if self.compiled is not None:  # known without loading the estimator
            self.frame = bool(self.compiled["frame"])
            if "classes" in self.compiled:
                self.classes = list(self.compiled["classes"])
            return
        native = model.native
        # scikit-learn estimators fitted on a DataFrame want one (feature names checked)
        self.frame = model.flavor == "sklearn" and hasattr(native, "feature_names_in_")
        classes = getattr(native, "classes_", None)
        if classes is not None and getattr(classes, "ndim", 1) == 1:
            self.classes = list(classes.tolist()) if hasattr(classes, "tolist") else list(
                classes)
        if self.has_proba and model.flavor == "sklearn" and type(native).__name__ in (
                "RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier") \
                and classes is not None:
            self.one_pass = True  # predict is classes_[argmax(predict_proba)] in scikit-learn

    # -- calls ------------------------------------------------------------------------
    def prepare(self, data: Any) -> Any:
        """Validate ``data`` like the model's own ``prepare``; with the fast path on, a
        numeric matrix stays a matrix even for an estimator fitted on a DataFrame."""
        if self._fast is not None and getattr(data, "ndim", 0) == 2 and type(
                data).__module__ == "numpy":
            from shipyard.models._signature import validate_matrix

            sig = self.model.signature
            matrix = validate_matrix(sig.inputs, data) if sig is not None else None  # type: ignore[arg-type]
            if matrix is not None:
                return matrix
        return self.model.prepare(data)

    def _native(self, x: Any) -> Any:
        """What the flavor's own predict takes: a DataFrame for frame-fitted estimators.

        With compiled arrays the estimator may not be loaded yet (nor its libraries
        installed: a slim serving image); a request that needs it loads it now, and if
        that cannot work the request gets a `PredictionError` (400) saying why."""
        if self.compiled is not None and not self.model.loaded:
            try:
                self.model.native  # noqa: B018  (loads it, once)
                if self.frame:
                    import pandas  # noqa: F401
            except ImportError as exc:
                msg = ("This input has a value the model's compiled arrays cannot take (NaN, "
                       "infinity or beyond float32), and this server cannot load the "
                       f"estimator that would decide it: {exc}.")
                raise PredictionError(msg, hint="send finite values, or install the model's "
                                      "libraries on the server (pip install "
                                      "'shipyard[sklearn]')") from exc
        if self.frame and type(x).__module__ == "numpy":
            import pandas as pd

            return pd.DataFrame(x, columns=self.names)
        return x

    def predict(self, x: Any) -> Any:
        if self._fast is not None:
            out = self._call_fast(x)
            if out is not None:
                return out[0]
        return self.model.predict(self._native(x), prepared=True)

    def predict_proba(self, x: Any) -> Any:
        if self._fast is not None:
            out = self._call_fast(x)
            if out is not None and out[1] is not None:
                return out[1]
        return self.model.predict_proba(self._native(x), prepared=True)

    def both(self, x: Any, *, predict: bool = True, proba: bool = True) -> tuple[Any, Any]:
        """The outputs asked for (each None when not asked), in as few passes as possible.

        Floating-point overflow in the model's arithmetic (a huge input) yields inf/0/1 as
        numpy computes it, without a warning."""
        import numpy as np

        with np.errstate(all="ignore"):
            return self._both(x, predict=predict, proba=proba)

    def _both(self, x: Any, *, predict: bool, proba: bool) -> tuple[Any, Any]:
        proba = proba and self.has_proba
        if self._fast is not None and (proba or predict):
            out = self._call_fast(x)
            if out is not None:
                return (out[0] if predict else None), (out[1] if proba else None)
        x = self._native(x)
        if proba and (self.one_pass or not predict):
            p = self.model.predict_proba(x, prepared=True)
            if predict:
                import numpy as np

                assert self.classes is not None
                native_classes = self.model.native.classes_
                return native_classes.take(np.argmax(p, axis=1), axis=0), p
            return None, p
        pred = self.model.predict(x, prepared=True) if predict else None
        return pred, (self.model.predict_proba(x, prepared=True) if proba else None)

    def _call_fast(self, x: Any) -> tuple[Any, Any] | None:
        import numpy as np

        if hasattr(x, "iloc") and self.frame:  # a frame in signature (= fitted) order
            x = x.to_numpy()
        if type(x) is not np.ndarray or x.ndim != 2 or x.shape[1] != self._width or (
                not np.isfinite(np.add.reduce(x, axis=None))):
            # a NaN or inf anywhere makes the sum non-finite (so does an overflowing sum of
            # huge values: that only sends the call to the native path, which handles it)
            return None  # the native path handles (or rejects) it
        assert self._fast is not None
        try:
            return self._fast(x)
        except ValueError:  # e.g. a value beyond float32: the native path names it
            return None

    # -- set-up -------------------------------------------------------------------------
    def try_fast_path(self, example: Any) -> bool:
        """`enable_fast_path` from the package's input example as stored (a numeric
        matrix in signature order, or the tensor)."""
        if self.model.flavor not in ("sklearn", "onnx") or getattr(example, "ndim", 0) != 2:
            return False
        sig = self.model.signature
        if sig is not None and not sig.is_tensor:
            from shipyard.models._signature import validate_matrix

            example = validate_matrix(sig.inputs, example)  # type: ignore[arg-type]
            if example is None:
                return False
        return self.enable_fast_path(example)

    def enable_fast_path(self, example: Any) -> bool:
        """Try the fast path for this model: from the package's compiled arrays (checked
        when it was logged), else extracted from the estimator and kept only if it matches
        its predictions on ``example`` (prepared input) and seeded random rows."""
        import numpy as np

        model = self.model
        if type(example) is not np.ndarray or example.ndim != 2:
            return False
        if model.flavor == "onnx":
            return self._enable_onnx(example)
        if model.flavor != "sklearn":
            return False
        if self.compiled is not None:
            return self._enable_compiled(example)
        native = model.native
        name = type(native).__name__
        width = int(getattr(native, "n_features_in_", -1))
        if width != example.shape[1]:
            return False
        if self.frame and [str(n) for n in native.feature_names_in_] != self.names:
            return False  # the signature's column order is not the fitted one
        try:
            exported = _compiled.export(native)
            if exported is None:
                return False
            meta, arrays = exported
            fast = _compiled.build(meta, arrays)
        except (AttributeError, TypeError, ValueError, ImportError, MemoryError):
            return False
        if not self._verify(fast, example):
            log.info("serving %s through its own predict (fast path not verified)", name)
            return False
        return self._use(fast, f"sklearn-{meta['kind']}", width)

    def _enable_compiled(self, example: Any) -> bool:
        meta = self.compiled
        assert meta is not None
        if int(meta["width"]) != example.shape[1] or (
                meta.get("columns") and self.names and meta["columns"] != self.names):
            return False
        try:
            fast = _compiled.load(self.model.folder, meta)
        except (ValueError, KeyError) as exc:
            log.warning("compiled arrays of %s unusable (%s); using the estimator",
                        self.model.uri, exc)
            self.compiled = None
            return self.enable_fast_path(example)
        return self._use(fast, f"sklearn-{meta['kind']}", int(meta["width"]))

    def _use(self, fast: Both, path: str, width: int) -> bool:
        self._fast, self.path, self._width, self.one_pass = fast, path, width, True
        return True

    def _enable_onnx(self, example: Any) -> bool:
        try:
            fast = _onnx(self.model)
        except (ImportError, ValueError, RuntimeError):
            return False
        self._rtol = 1e-6  # float32 outputs of the same runtime, other thread settings
        if fast is None or not self._verify(fast, example):
            return False
        return self._use(fast, "onnxruntime", example.shape[1])

    def _verify(self, fast: Both, example: Any) -> bool:
        model = self.model
        proba = None
        if self.has_proba:
            def proba(x: Any) -> Any:
                return model.predict_proba(self._native(x), prepared=True)

        def predict(x: Any) -> Any:
            return model.predict(self._native(x), prepared=True)

        return _compiled.verify(fast, predict, proba, example, rtol=self._rtol, atol=_ATOL)


def _onnx(model: PyFuncModel) -> Both | None:
    """One ONNX Runtime session that returns labels and probabilities from one run, on one
    thread without spin-waiting (small batches on a small machine: threads only cost)."""
    import numpy as np
    import onnxruntime as ort

    options = model.metadata.get("flavor_options", {})
    name, label, proba = options.get("input"), options.get("label_output"), options.get(
        "proba_output")
    if not name or not label:
        return None
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model.native.SerializeToString(), sess_options=so,
                                   providers=["CPUExecutionProvider"])
    kind = session.get_inputs()[0].type
    dtype = np.dtype({"tensor(double)": "float64", "tensor(int64)": "int64",
                      "tensor(int32)": "int32"}.get(kind, "float32"))
    outputs = [label, proba] if proba else [label]
    run = session.run

    def both(x: Any) -> tuple[Any, Any]:
        result = run(outputs, {name: x if x.dtype == dtype else x.astype(dtype)})
        p = result[1] if proba else None
        if isinstance(p, list):  # a ZipMap output: list of {class: probability}
            p = np.array([list(row.values()) for row in p], dtype=np.float32)
        return result[0], p

    return both

"""ONNX models, run with ONNX Runtime (CPU), and conversion of scikit-learn (skl2onnx),
XGBoost and LightGBM (onnxmltools) models with ``format="onnx"``.

A converted model takes one float32 matrix: the validated input columns, in signature order.
Classifiers are converted without ZipMap, so ``predict_proba`` returns an array.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.models.flavors import Adapter

NAME = "onnx"
MODULES = ("onnx", "onnxruntime", "numpy")
FORMATS = ("onnx",)


def _matrix(example: Any) -> Any:
    import numpy as np

    if hasattr(example, "to_numpy"):
        example = example.to_numpy()
    return np.asarray(example, dtype=np.float32)


def _last_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def convert(model: Any, source_flavor: str, example: Any) -> Any:
    """An ONNX ``ModelProto`` for a scikit-learn, XGBoost or LightGBM model.

    Raises `InvalidArgumentError` (with the converter's reason) when it cannot be converted.
    """
    if example is None:
        msg = "Converting a model to ONNX needs an input_example (it fixes the input width)."
        raise InvalidArgumentError(msg, hint="pass input_example=")
    x = _matrix(example)
    try:
        if source_flavor == "sklearn":
            from skl2onnx import to_onnx

            last = _last_step(model)
            opts = {id(last): {"zipmap": False}} if hasattr(last, "predict_proba") else None
            return to_onnx(model, x[:1], options=opts, target_opset={"": 17, "ai.onnx.ml": 3})
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("input", FloatTensorType([None, x.shape[1]]))]
        if source_flavor == "xgboost":
            return onnxmltools.convert_xgboost(model, initial_types=types, target_opset=15)
        if source_flavor == "lightgbm":
            return onnxmltools.convert_lightgbm(model, initial_types=types, zipmap=False,
                                                target_opset=15)
    except (RuntimeError, ValueError, TypeError, NotImplementedError, KeyError,
            AttributeError) as exc:
        msg = f"This {source_flavor} model cannot be converted to ONNX: {exc}"
        raise InvalidArgumentError(msg, hint="save it in its own format instead") from exc
    msg = f"Models of the {source_flavor!r} flavor cannot be converted to ONNX."
    raise InvalidArgumentError(msg, hint="use sklearn, xgboost or lightgbm, or log an ONNX model")


def save(model: Any, folder: Path, *, format: str | None, example: Any,
         converted_from: str | None = None) -> dict[str, Any]:
    del example
    import onnx

    if format not in (None, "onnx"):
        msg = f"ONNX models are saved as 'onnx'. Got {format!r}."
        raise InvalidArgumentError(msg)
    if isinstance(model, bytes | str | Path):
        model = onnx.load(model) if not isinstance(model, bytes) else onnx.load_from_string(model)
    onnx.save_model(model, str(folder / "model.onnx"))
    inputs = [i.name for i in model.graph.input
              if i.name not in {init.name for init in model.graph.initializer}]
    outputs = [o.name for o in model.graph.output]
    if len(inputs) != 1:
        msg = f"Only single-input ONNX models are supported; this one has inputs {inputs}."
        raise InvalidArgumentError(msg, hint="wrap it in a shipyard.models.PythonModel")
    label = "label" if "label" in outputs else outputs[0]
    proba = next((o for o in outputs if o in ("probabilities", "probability_tensor")), None)
    return {"format": "onnx", "file": "model.onnx", "pickle": False, "input": inputs[0],
            "label_output": label, "proba_output": proba, "converted_from": converted_from}


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    del trusted
    import onnx

    return onnx.load(str(folder / options["file"]))


_ONNX_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64",
                "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(bool)": "bool"}


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(native.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    name = options["input"]
    dtype = np.dtype(_ONNX_DTYPES.get(session.get_inputs()[0].type, "float32"))
    label, proba = [options["label_output"]], options.get("proba_output")
    run = session.run

    def as_input(x: Any) -> Any:
        if hasattr(x, "to_numpy"):
            x = x.to_numpy(dtype=dtype)
        return x if x.dtype == dtype else x.astype(dtype)

    def predict(x: Any) -> Any:
        return run(label, {name: as_input(x)})[0]

    def predict_proba(x: Any) -> Any:
        out = run([proba], {name: as_input(x)})[0]
        if isinstance(out, list):  # a ZipMap output: list of {class: prob}
            out = np.array([list(row.values()) for row in out], dtype=np.float32)
        return out

    return Adapter(native=native, predict=predict,
                   predict_proba=predict_proba if proba else None, wants="array")

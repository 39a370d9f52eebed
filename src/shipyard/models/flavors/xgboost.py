"""XGBoost boosters and scikit-learn wrappers, in XGBoost's own UBJSON format (no pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError, UntrustedModelError
from shipyard.models.flavors import Adapter, class_path

NAME = "xgboost"
MODULES = ("xgboost", "numpy", "scipy")
FORMATS = ("ubj",)
CLASSES = ("Booster", "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier",
           "XGBRFRegressor")


def save(model: Any, folder: Path, *, format: str | None, example: Any) -> dict[str, Any]:
    del example
    if format not in (None, "ubj"):
        msg = f"XGBoost models are saved as 'ubj' (or converted by format='onnx'). Got {format!r}."
        raise InvalidArgumentError(msg)
    cls = type(model).__name__
    if cls not in CLASSES:
        msg = f"Unsupported XGBoost class {class_path(model)!r}; expected one of {CLASSES}."
        raise InvalidArgumentError(msg, hint="wrap it in a shipyard.models.PythonModel")
    model.save_model(folder / "model.ubj")
    return {"format": "ubj", "file": "model.ubj", "model_class": cls, "pickle": False}


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    del trusted
    import xgboost

    cls = options["model_class"]
    if cls not in CLASSES:
        msg = f"Refusing to instantiate XGBoost class {cls!r} named by the manifest."
        raise UntrustedModelError(msg)
    path = str(folder / options["file"])
    if cls == "Booster":
        return xgboost.Booster(model_file=path)
    model = getattr(xgboost, cls)()
    model.load_model(path)
    return model


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    del options
    if type(native).__name__ == "Booster":
        import xgboost

        return Adapter(native=native, predict=lambda x: native.predict(xgboost.DMatrix(x)))
    proba = native.predict_proba if hasattr(native, "predict_proba") else None
    return Adapter(native=native, predict=native.predict, predict_proba=proba)

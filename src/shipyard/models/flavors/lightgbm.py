"""LightGBM: a ``Booster`` is saved as LightGBM's text model (no pickle); a scikit-learn
wrapper (``LGBMClassifier``, ...) is pickled with joblib, because LightGBM has no public way
to rebuild one from the text model, with the booster's text beside it for inspection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.models.flavors import Adapter, class_path

NAME = "lightgbm"
MODULES = ("lightgbm", "numpy", "scipy", "sklearn")
FORMATS = ("text", "pickle")


def save(model: Any, folder: Path, *, format: str | None, example: Any) -> dict[str, Any]:
    del example
    if format not in (None, "text", "pickle"):
        msg = f"LightGBM models are saved as 'text' or 'pickle' (or format='onnx'). Got {format!r}."
        raise InvalidArgumentError(msg)
    if type(model).__name__ == "Booster":
        model.save_model(str(folder / "model.txt"))
        return {"format": "text", "file": "model.txt", "model_class": "Booster",
                "pickle": False}
    import joblib

    joblib.dump(model, folder / "model.joblib")
    model.booster_.save_model(str(folder / "booster.txt"))
    return {"format": "pickle", "file": "model.joblib", "model_class": class_path(model),
            "pickle": True}


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    del trusted
    path = folder / options["file"]
    if options["format"] == "text":
        import lightgbm

        return lightgbm.Booster(model_file=str(path))
    import joblib

    return joblib.load(path)


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    del options
    proba = native.predict_proba if hasattr(native, "predict_proba") else None
    return Adapter(native=native, predict=native.predict, predict_proba=proba)

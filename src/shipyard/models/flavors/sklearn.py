"""scikit-learn estimators and pipelines: pickle (joblib, default), skops, or ONNX (through
``format="onnx"``, handled by the onnx flavor).

skops files are loaded with ``skops.io.load(trusted=...)``: the types the file needs must be
the ones recorded in the manifest at save time, and types outside scikit-learn, numpy and
scipy additionally need ``trust_pickle=True``.

Linear models and tree ensembles also get ``compiled.npz``: their prediction arithmetic as
numpy arrays, checked against the estimator when logged (`shipyard.models._compiled`), so a
model server can predict without importing scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import UntrustedModelError
from shipyard.models import _compiled
from shipyard.models.flavors import Adapter, class_path

NAME = "sklearn"
MODULES = ("sklearn", "numpy", "scipy", "joblib")
FORMATS = ("pickle", "skops")
SAFE_ROOTS = ("sklearn", "numpy", "scipy", "builtins", "collections")


def save(model: Any, folder: Path, *, format: str | None, example: Any) -> dict[str, Any]:
    fmt = format or "pickle"
    options: dict[str, Any] = {"format": fmt, "model_class": class_path(model)}
    if fmt == "skops":
        import skops.io as sio

        path = folder / "model.skops"
        sio.dump(model, path)
        options.update(file="model.skops", pickle=False,
                       skops_types=sorted(sio.get_untrusted_types(file=path)))
    else:
        import joblib

        joblib.dump(model, folder / "model.joblib")
        options.update(file="model.joblib", pickle=True)
    compiled = _compiled.save(model, folder, example)
    if compiled is not None:  # the server predicts from these arrays, without scikit-learn
        options["compiled"] = compiled
    return options


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    path = folder / options["file"]
    if options["format"] == "skops":
        import skops.io as sio

        recorded = set(options.get("skops_types", []))
        needed = set(sio.get_untrusted_types(file=path))
        unknown = sorted(needed - recorded)
        if unknown:
            msg = (f"The skops file needs types that were not recorded when it was saved: "
                   f"{', '.join(unknown)}; refusing to load it.")
            raise UntrustedModelError(msg)
        foreign = sorted(t for t in needed if t.split(".", 1)[0] not in SAFE_ROOTS)
        if foreign and not trusted:
            msg = (f"The skops file uses types outside scikit-learn/numpy/scipy: "
                   f"{', '.join(foreign)}.")
            raise UntrustedModelError(msg)
        return sio.load(path, trusted=sorted(needed))
    import joblib

    return joblib.load(path)


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    del options
    proba = native.predict_proba if hasattr(native, "predict_proba") else None
    wants = "frame" if hasattr(native, "feature_names_in_") else "array"
    return Adapter(native=native, predict=native.predict, predict_proba=proba, wants=wants)

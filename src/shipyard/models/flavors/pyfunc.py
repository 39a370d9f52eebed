"""Custom models: a `shipyard.models.PythonModel` subclass instance, serialized with
cloudpickle (loading it runs code, so it needs trust), plus artifact files it loads in
``load_context``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from shipyard.errors import invalid
from shipyard.models._python_model import ModelContext, PythonModel
from shipyard.models.flavors import Adapter, class_path

NAME = "pyfunc"
MODULES = ("cloudpickle", "numpy", "pandas")
FORMATS = ("cloudpickle",)


def save(model: Any, folder: Path, *, format: str | None, example: Any,
         artifacts: dict[str, str] | None = None) -> dict[str, Any]:
    del format, example
    import cloudpickle

    if not isinstance(model, PythonModel):
        err = invalid("model", type(model).__name__, "a shipyard.models.PythonModel instance",
                      where="log_model(flavor='pyfunc')")
        raise err
    stored: dict[str, str] = {}
    for name, src in (artifacts or {}).items():
        source = Path(src)
        if not source.exists():
            err = invalid("artifacts", f"{name}={src}", "existing files or folders",
                          where="log_model")
            raise err
        dest = folder / "artifacts" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copyfile(source, dest)
        stored[name] = f"artifacts/{name}"
    with (folder / "python_model.pkl").open("wb") as fh:
        cloudpickle.dump(model, fh)
    return {"format": "cloudpickle", "file": "python_model.pkl", "pickle": True,
            "model_class": class_path(model), "artifacts": stored}


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    del trusted
    import cloudpickle

    with (folder / options["file"]).open("rb") as fh:
        model = cloudpickle.load(fh)
    paths = {name: str(folder / rel) for name, rel in options.get("artifacts", {}).items()}
    model.load_context(ModelContext(artifacts=paths))
    return model


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    del options
    proba = getattr(native, "predict_proba", None)
    return Adapter(native=native, predict=native.predict, predict_proba=proba)

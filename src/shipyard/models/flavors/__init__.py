"""Flavors: how each kind of model is saved, loaded and called.

Each flavor module is imported only when a model of that kind is logged or loaded, so the
heavy libraries (torch, xgboost, ...) never load otherwise. A flavor module provides::

    NAME: str
    MODULES: tuple[str, ...]               # imported modules whose versions are recorded
    def save(model, folder, *, format, example) -> dict   # options stored in the manifest
    def load(folder, options, *, trusted) -> native object
    def adapter(native, options) -> Adapter

``options["pickle"]`` says whether loading runs pickled code (the package checks trust first).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from shipyard.errors import InvalidArgumentError, MissingDependencyError

FLAVORS: dict[str, tuple[str, str | None]] = {
    "sklearn": ("shipyard.models.flavors.sklearn", "sklearn"),
    "xgboost": ("shipyard.models.flavors.xgboost", "xgboost"),
    "lightgbm": ("shipyard.models.flavors.lightgbm", "lightgbm"),
    "pytorch": ("shipyard.models.flavors.pytorch", "torch"),
    "onnx": ("shipyard.models.flavors.onnx", "onnx"),
    "pyfunc": ("shipyard.models.flavors.pyfunc", None),
}
_ROOTS = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm",
          "torch": "pytorch", "onnx": "onnx"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Adapter:
    """The common calling convention over a flavor's native object.

    ``wants`` is what ``predict`` takes: ``frame`` (a DataFrame), ``array`` (numpy) or
    ``any`` (whatever the signature validation produced)."""

    native: Any
    predict: Callable[[Any], Any]
    predict_proba: Callable[[Any], Any] | None = None
    wants: str = "any"


def get_flavor(name: str) -> ModuleType:
    """The flavor module, imported now; a missing library becomes an install hint."""
    if name not in FLAVORS:
        msg = f"Unknown model flavor {name!r}; known flavors: {', '.join(sorted(FLAVORS))}."
        raise InvalidArgumentError(msg)
    module, extra = FLAVORS[name]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"The {name!r} model flavor needs a library that is not installed ({exc.name})."
        hint = f"pip install 'shipyard[{extra}]'" if extra else None
        raise MissingDependencyError(msg, hint=hint) from exc


def detect_flavor(model: Any) -> str:
    """Guess the flavor from the classes a model inherits from (imports nothing)."""
    from shipyard.models._python_model import PythonModel

    if isinstance(model, PythonModel):
        return "pyfunc"
    for klass in type(model).__mro__:
        root = klass.__module__.split(".", 1)[0]
        if root in _ROOTS:
            return _ROOTS[root]
    msg = (f"Cannot tell how to save a model of type {type(model).__qualname__!r}; "
           f"built-in flavors: {', '.join(sorted(FLAVORS))}.")
    raise InvalidArgumentError(
        msg, hint="wrap it in a shipyard.models.PythonModel subclass, or pass flavor=")


def class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"

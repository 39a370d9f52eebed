"""`PyFuncModel`: the one interface every loaded model has, whatever its flavor."""

from __future__ import annotations

import json
import shutil
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.models._signature import Signature, TensorSpec, validate_input, validate_matrix
from shipyard.models.flavors import Adapter


class PyFuncModel:
    """A loaded model package: ``predict`` (and ``predict_proba`` where the model has it)
    validate and cast every input against the signature first.

    ``native`` is the flavor's own object (the estimator, booster, module or ONNX graph),
    ``metadata`` the package manifest, ``signature`` what it takes and returns.
    """

    def __init__(self, *, adapter: Adapter | Callable[[], Adapter], signature: Signature | None,
                 manifest: dict[str, Any], folder: Path, uri: str | None = None,
                 owns_folder: bool = False) -> None:
        # ``adapter`` may be a function that loads it: the native object is then loaded on
        # first use (a model server predicting from compiled arrays may never need it)
        self._adapter: Adapter | None = adapter if isinstance(adapter, Adapter) else None
        self._load_adapter = None if isinstance(adapter, Adapter) else adapter
        self._lock = threading.Lock()
        self.signature = signature
        self.metadata = manifest
        self.folder = folder
        self.uri = uri
        self._tensor = signature is not None and isinstance(signature.inputs, TensorSpec)
        compiled = manifest.get("flavor_options", {}).get("compiled")
        self._wants = self._adapter.wants if self._adapter is not None else (
            "frame" if compiled and compiled.get("frame") else "array")
        if owns_folder:
            weakref.finalize(self, shutil.rmtree, str(folder), ignore_errors=True)

    def _get(self) -> Adapter:
        adapter = self._adapter
        if adapter is None:
            with self._lock:
                if self._adapter is None:
                    assert self._load_adapter is not None
                    self._adapter = self._load_adapter()
                adapter = self._adapter
        return adapter

    @property
    def loaded(self) -> bool:
        """Whether the native object is in memory (see ``load_model(lazy=True)``)."""
        return self._adapter is not None

    @property
    def native(self) -> Any:
        """The underlying object: estimator, booster, torch module, ONNX ModelProto, ..."""
        return self._get().native

    @property
    def flavor(self) -> str:
        return str(self.metadata["flavor"])

    @property
    def has_predict_proba(self) -> bool:
        if self._adapter is None:
            return bool(self.metadata.get("has_predict_proba"))
        return self._adapter.predict_proba is not None

    def _prepare(self, data: Any) -> Any:
        if self.signature is None:
            return data
        if (self._wants == "array" and not self._tensor and getattr(data, "ndim", 0) == 2
                and type(data).__module__ == "numpy"):
            fast = validate_matrix(self.signature.inputs, data)  # type: ignore[arg-type]
            if fast is not None:  # no DataFrame round-trip for a numeric matrix
                return fast
        x = validate_input(self.signature, data)
        if self._wants == "array" and not self._tensor:
            return x.to_numpy()
        return x

    def prepare(self, data: Any) -> Any:
        """Validate and cast ``data`` against the signature into what the flavor's predict
        takes (a numpy array, a DataFrame, ...); ``predict(x, prepared=True)`` then skips
        the validation. Raises `SignatureError` like `predict`."""
        return self._prepare(data)

    def predict(self, data: Any, *, prepared: bool = False) -> Any:
        """Predictions for ``data`` (DataFrame, dict, list of rows, numpy array or tensor).

        Raises `SignatureError` naming the column, value and expected type on bad input."""
        return self._get().predict(data if prepared else self._prepare(data))

    def predict_proba(self, data: Any, *, prepared: bool = False) -> Any:
        """Class probabilities, for classifiers that have them."""
        fn = self._get().predict_proba
        if fn is None:
            msg = f"This {self.flavor} model has no predict_proba."
            raise InvalidArgumentError(msg, hint="call predict() instead")
        return fn(data if prepared else self._prepare(data))

    @property
    def reference_profile(self) -> dict[str, Any] | None:
        """Statistics of the training data recorded at logging (see `compute_profile`)."""
        path = self.folder / "reference_profile.json"
        return json.loads(path.read_text()) if path.is_file() else None

    @property
    def input_example(self) -> Any:
        """The input example stored with the package (DataFrame or array), or None."""
        from shipyard.models._package import read_example

        return read_example(self.folder)

    def __repr__(self) -> str:
        return f"<PyFuncModel flavor={self.flavor} uri={self.uri!r}>"

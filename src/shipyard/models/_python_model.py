"""The custom model class for anything no built-in flavor covers (the ``pyfunc`` flavor)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelContext:
    """What a loaded `PythonModel` gets: local paths of the artifacts logged with it."""

    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel:
    """Subclass it, implement `predict` (and `load_context` to load files), then
    ``shipyard.log_model(MyModel(), artifacts={"vocab": "vocab.json"}, ...)``.

    The instance is serialized with cloudpickle, so loading it runs code: it needs
    ``trust_pickle=True`` unless it comes from the trusted local store.
    """

    def load_context(self, context: ModelContext) -> None:
        """Called once after loading, with the artifacts' local paths. Default: nothing."""

    def predict(self, model_input: Any) -> Any:
        """Predictions for ``model_input`` (already validated against the signature)."""
        raise NotImplementedError

"""PyTorch modules (CPU). Default ``format="export"``: ``torch.export`` traced with the input
example (batch dimension dynamic), loaded with ``torch.export.load`` which does not unpickle
arbitrary objects. ``format="pickle"`` saves the whole module with ``torch.save`` and keeps
the original Python class (needs trust to load). One tensor in, one tensor out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.models.flavors import Adapter, class_path

NAME = "pytorch"
MODULES = ("torch", "numpy")
FORMATS = ("export", "pickle")


def _example_tensor(example: Any) -> Any:
    import numpy as np
    import torch

    if isinstance(example, torch.Tensor):
        return example
    if hasattr(example, "to_numpy"):
        example = example.to_numpy()
    return torch.from_numpy(np.ascontiguousarray(example))


def save(model: Any, folder: Path, *, format: str | None, example: Any) -> dict[str, Any]:
    import torch

    fmt = format or "export"
    model.eval()
    if fmt == "pickle":
        torch.save(model, folder / "model.pt")
        return {"format": "pickle", "file": "model.pt", "model_class": class_path(model),
                "pickle": True}
    if fmt != "export":
        msg = f"PyTorch models are saved with format 'export' or 'pickle'. Got {fmt!r}."
        raise InvalidArgumentError(msg)
    if example is None:
        msg = "Saving a PyTorch model with format='export' needs an input_example to trace."
        raise InvalidArgumentError(msg, hint="pass input_example=, or format='pickle'")
    x = _example_tensor(example)
    if x.shape[0] < 2:
        x = torch.cat([x, x])
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    torch.export.save(program, folder / "model.pt2")
    return {"format": "export", "file": "model.pt2", "model_class": class_path(model),
            "pickle": False}


def load(folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
    import torch

    path = folder / options["file"]
    if options["format"] == "pickle":
        return torch.load(path, weights_only=not trusted)
    return torch.export.load(path).module()


def adapter(native: Any, options: dict[str, Any]) -> Adapter:
    del options
    import numpy as np
    import torch

    def predict(x: Any) -> Any:
        if hasattr(x, "to_numpy"):
            x = x.to_numpy()
        with torch.no_grad():
            out = native(torch.from_numpy(np.ascontiguousarray(x)))
        return out.detach().cpu().numpy()

    return Adapter(native=native, predict=predict, wants="array")

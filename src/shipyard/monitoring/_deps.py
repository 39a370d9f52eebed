"""The optional libraries monitoring needs, imported on first use with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from shipyard.errors import MissingDependencyError

HINT = "pip install 'shipyard[monitoring]'"


def need(module: str) -> ModuleType:
    """Import ``module`` or raise `MissingDependencyError` naming the monitoring extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"Monitoring needs {module.split('.')[0]!r}, which is not installed."
        raise MissingDependencyError(msg, hint=HINT) from exc


def need_all() -> None:
    """Check numpy, pandas, scipy and pyarrow at once (before any long computation)."""
    for module in ("numpy", "pandas", "scipy.stats", "pyarrow"):
        need(module)

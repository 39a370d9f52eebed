"""Shipyard: experiment tracking and the rest of the ML lifecycle in one fast system.

The facade is lazy: ``import shipyard`` loads nothing heavy; names resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__

_LAZY: dict[str, str] = {
    "Client": "shipyard.client",
    "UNSET": "shipyard.stores.metadata",
    "RunStatus": "shipyard.entities.tracking",
    "Run": "shipyard.entities.tracking",
    "Experiment": "shipyard.entities.tracking",
    "Metric": "shipyard.entities.tracking",
    "DatasetInput": "shipyard.entities.tracking",
    "ShipyardError": "shipyard.errors",
    "log_model": "shipyard.registry._fluent",
    "load_model": "shipyard.registry._fluent",
    "register_model": "shipyard.registry._fluent",
}
_FLUENT = (
    "start_run", "end_run", "active_run", "log_param", "log_params", "log_metric", "log_metrics",
    "set_tag", "set_tags", "log_artifact", "log_artifacts", "log_text", "log_dict",
    "log_figure", "log_table", "log_input", "flush", "search_runs", "set_experiment",
    "get_client",
)
for _name in _FLUENT:
    _LAZY[_name] = "shipyard.tracking._fluent"

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:
    from shipyard.client import Client
    from shipyard.entities.tracking import DatasetInput, Experiment, Metric, Run, RunStatus
    from shipyard.errors import ShipyardError
    from shipyard.registry._fluent import load_model, log_model, register_model
    from shipyard.stores.metadata import UNSET
    from shipyard.tracking._fluent import (
        active_run,
        end_run,
        flush,
        get_client,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_input,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_table,
        log_text,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'shipyard' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

"""``shipyard.log_model``, ``shipyard.register_model`` and ``shipyard.load_model``: the
facade over the model services of the process-wide client (see ``shipyard.tracking._fluent``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgumentError
from shipyard.tracking._fluent import active_run, get_client

if TYPE_CHECKING:
    from shipyard.entities.registry import ModelVersion
    from shipyard.models import ModelInfo, PyFuncModel, Signature


def log_model(
    model: Any, name: str = "model", *, input_example: Any = None,
    signature: Signature | dict[str, Any] | None = None, reference_data: Any = None,
    registered_model: str | None = None, format: str | None = None,
    flavor: str | None = None, artifacts: dict[str, str | os.PathLike[str]] | None = None,
    extra_requirements: list[str] | None = None, run_id: str | None = None,
    description: str = "", tags: dict[str, Any] | None = None,
) -> ModelInfo:
    """Save ``model`` as a package in the active run (or ``run_id``) under ``name``.

    With ``registered_model="churn"`` the package also becomes the next version of that
    registered model (created if needed); the run's metrics are flushed first so the
    version's metrics snapshot is complete. See `ModelService.log_model` for the rest.
    """
    client = get_client()
    run = active_run()
    if run_id is None:
        if run is None:
            msg = ("log_model needs a run: call it inside `with shipyard.start_run():` or pass "
                   "run_id=.")
            raise InvalidArgumentError(msg)
        run_id = run.id
    info = client.models.log_model(
        run_id, model, name=name, input_example=input_example, signature=signature,
        reference_data=reference_data, format=format, flavor=flavor, artifacts=artifacts,
        extra_requirements=extra_requirements)
    if registered_model is None:
        return info
    if run is not None and run.id == run_id:
        run.flush()
    mv = client.registry.create_model_version(registered_model, run_id=run_id,
                                              artifact_path=info.artifact_path,
                                              description=description, tags=tags)
    from dataclasses import replace

    return replace(info, registered_model=registered_model, version=mv.version)


def register_model(model_uri: str, name: str, *, description: str = "",
                   tags: dict[str, Any] | None = None) -> ModelVersion:
    """Register the package at ``runs:/<run_id>/<path>`` (e.g. a `ModelInfo`'s ``uri``) as
    the next version of ``name``, creating the registered model when missing. In client mode
    the server reads the package and records the signed-in user."""
    from shipyard.models import parse_model_uri

    where = parse_model_uri(model_uri)
    if where.kind != "run":
        msg = (f"register_model needs a runs:/<run_id>/<path> URI of a logged model package. "
               f"Got {model_uri!r}.")
        raise InvalidArgumentError(msg, hint="pass ModelInfo.uri, as returned by log_model")
    assert where.run_id is not None
    assert where.path is not None
    return get_client().registry.create_model_version(
        name, run_id=where.run_id, artifact_path=where.path, description=description, tags=tags)


def load_model(uri: str, *, trust_pickle: bool | None = None) -> PyFuncModel:
    """Load ``models:/name/3``, ``models:/name@champion``, ``runs:/<id>/model`` or a local
    package folder as a `PyFuncModel` (``.native`` is the flavor's own object).

    Pickle-based packages from a store this client does not trust need ``trust_pickle=True``
    (see the ``trust_pickle`` setting)."""
    return get_client().models.load_model(uri, trust_pickle=trust_pickle)

"""Model URIs: ``models:/churn/3``, ``models:/churn@champion``, ``models:/churn/latest``,
``runs:/<run_id>/<path>`` and plain local folders (a downloaded package)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import InvalidArgumentError

_MODELS = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+|latest)|@(?P<alias>[^/@]+))$")
_RUNS = re.compile(r"^runs:/(?P<run_id>[0-9a-f]{32})/(?P<path>.+)$")
_HINT = "use models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH or a local folder"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelUri:
    """A parsed model URI; ``kind`` is ``registry``, ``run`` or ``path``."""

    kind: str
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    latest: bool = False
    run_id: str | None = None
    path: str | None = None


def parse_model_uri(uri: str) -> ModelUri:
    """Parse a URI; raises `InvalidArgumentError` naming the accepted forms."""
    if not isinstance(uri, str) or not uri:
        msg = f"A model URI must be a non-empty string. Got {uri!r}."
        raise InvalidArgumentError(msg, hint=_HINT)
    if uri.startswith("models:"):
        m = _MODELS.match(uri)
        if m is None:
            msg = (f"Model URI {uri!r} is not of the form models:/NAME/VERSION or "
                   "models:/NAME@ALIAS.")
            raise InvalidArgumentError(msg, hint=_HINT)
        version = m.group("version")
        return ModelUri(kind="registry", name=m.group("name"), alias=m.group("alias"),
                        version=int(version) if version and version != "latest" else None,
                        latest=version == "latest")
    if uri.startswith("runs:"):
        m = _RUNS.match(uri)
        if m is None:
            msg = f"Run URI {uri!r} is not of the form runs:/<32-hex run id>/<artifact path>."
            raise InvalidArgumentError(msg, hint=_HINT)
        return ModelUri(kind="run", run_id=m.group("run_id"), path=m.group("path").strip("/"))
    path = uri.removeprefix("file://")
    if "://" in path or not Path(path).is_dir():
        msg = f"{uri!r} is neither a model URI nor an existing local folder."
        raise InvalidArgumentError(msg, hint=_HINT)
    return ModelUri(kind="path", path=str(Path(path).absolute()))

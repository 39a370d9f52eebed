"""Backend registry: URL scheme -> "module:Class" + the extra that installs its driver.

Built-ins are strings so nothing is imported until used; unknown schemes fall back to the
entry-point groups ``shipyard.metadata_stores`` and ``shipyard.artifact_stores``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from shipyard.errors import ConfigError, MissingDependencyError

METADATA_STORES: dict[str, tuple[str, str | None]] = {
    "sqlite": ("shipyard.backends.metadata.sql.sqlite:SQLiteMetadataStore", None),
    "postgresql": ("shipyard.backends.metadata.sql.postgresql:PostgresMetadataStore", "postgres"),
    "http": ("shipyard.backends.remote.http:RemoteMetadataStore", None),
    "https": ("shipyard.backends.remote.http:RemoteMetadataStore", None),
}
ARTIFACT_STORES: dict[str, tuple[str, str | None]] = {
    "file": ("shipyard.backends.artifacts.local:LocalArtifactStore", None),
    "s3": ("shipyard.backends.artifacts.s3:S3ArtifactStore", "s3"),
    "memory": ("shipyard.backends.artifacts.memory:MemoryArtifactStore", None),
    "http": ("shipyard.backends.remote.http:RemoteArtifactStore", None),
    "https": ("shipyard.backends.remote.http:RemoteArtifactStore", None),
}
_GROUPS = {"metadata": "shipyard.metadata_stores", "artifact": "shipyard.artifact_stores"}


def scheme_of(uri: str) -> str:
    """``postgresql+psycopg://...`` -> ``postgresql``; a bare path is ``file``."""
    if "://" not in uri and not uri.startswith("sqlite:"):
        return "file"
    return uri.split(":", 1)[0].split("+", 1)[0].lower()


def load_backend(kind: str, uri: str) -> type[Any]:
    """The class serving ``uri`` for a port kind ("metadata" or "artifact")."""
    table = METADATA_STORES if kind == "metadata" else ARTIFACT_STORES
    scheme = scheme_of(uri)
    if scheme in table:
        target, extra = table[scheme]
        module_name, _, cls_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if extra is None:
                raise
            msg = f"The {scheme!r} {kind} store needs a driver that is not installed ({exc.name})."
            raise MissingDependencyError(msg, hint=f"pip install 'shipyard[{extra}]'") from exc
        return getattr(module, cls_name)  # type: ignore[no-any-return]
    for ep in entry_points(group=_GROUPS[kind]):
        if ep.name == scheme:
            return ep.load()  # type: ignore[no-any-return]
    known = ", ".join(sorted(table))
    msg = f"Unknown {kind} store scheme {scheme!r} in {uri!r}; expected one of: {known}."
    raise ConfigError(msg, hint=f"set SHIPYARD_{kind.upper()}_URI to a supported URL")

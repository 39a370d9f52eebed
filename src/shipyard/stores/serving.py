"""Serving port: the registry of running model servers (`DeploymentStore`).

Separate from `MetadataStore` so a backend can add it on its own schedule; the SQL backend
implements it on the ``deployments`` table. Contract tests: ``shipyard.testing.contracts.serving``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shipyard.entities.serving import DeployedModel, Deployment


class DeploymentStore(abc.ABC):
    """Running model servers and their heartbeats. Every write is atomic per call."""

    @abc.abstractmethod
    def create_deployment(self, deployment: Deployment) -> Deployment:
        """Record a server that just started. Raises `AlreadyExistsError` if the id is taken."""

    @abc.abstractmethod
    def get_deployment(self, deployment_id: str) -> Deployment:
        """Raises `DeploymentNotFoundError`."""

    @abc.abstractmethod
    def heartbeat_deployment(
        self, deployment_id: str, *, at: datetime,
        models: Sequence[DeployedModel] | None = None, stats: Mapping[str, Any] | None = None,
    ) -> None:
        """Set ``heartbeat_at`` (and, when given, the served models and stats).
        Raises `DeploymentNotFoundError`."""

    @abc.abstractmethod
    def stop_deployment(self, deployment_id: str, *, at: datetime) -> None:
        """Mark the server stopped; idempotent (an unknown id is ignored)."""

    @abc.abstractmethod
    def list_deployments(self, *, include_stopped: bool = False) -> list[Deployment]:
        """Servers ordered by start time, newest first; stopped ones only on request."""

    @abc.abstractmethod
    def delete_deployments(self, *, stopped_before: datetime) -> int:
        """Forget servers that stopped before ``stopped_before``; returns how many."""

"""Serving port: the registry of running model servers (`DeploymentStore`).

Separate from `MetadataStore` so a backend can add it on its own schedule; the SQL backend
implements it on the ``deployments`` table. Contract tests: ``shipyard.testing.contracts.serving``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample


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
        sample: DeploymentSample | None = None, keep_since: datetime | None = None,
    ) -> None:
        """Set ``heartbeat_at`` (and, when given, the served models and stats).

        ``sample`` is appended to the deployment's history (a second sample with the same
        ``at`` is ignored, so a retried heartbeat does not count twice). ``keep_since`` drops
        every sample older than it, of any deployment (a crashed server's history ages out
        too): the retention window. All of it happens in one transaction.
        Raises `DeploymentNotFoundError`."""

    @abc.abstractmethod
    def deployment_history(
        self, deployment_id: str, *, since: datetime | None = None,
        until: datetime | None = None, max_points: int | None = None,
    ) -> list[DeploymentSample]:
        """The deployment's samples with ``since <= at <= until``, oldest first.

        With ``max_points`` and more samples than that, neighbours are merged so that a chart
        gets at most ``max_points`` (done by the backend: a 7-day history is 40,000 rows).
        The time from the first to the last sample, in milliseconds, is cut into
        ``max_points`` equal buckets (bucket = ``(at - first) * max_points // (last - first +
        1)``); each non-empty bucket becomes one sample at its latest ``at``, with the sums of
        ``seconds``, ``requests`` and ``errors``, and each percentile the mean of the bucket's
        non-null values weighted by their requests (the plain mean when those carry no
        requests; an approximation: percentiles do not add up).
        Raises `DeploymentNotFoundError` for an unknown id (a known one may have none)."""

    @abc.abstractmethod
    def stop_deployment(self, deployment_id: str, *, at: datetime) -> None:
        """Mark the server stopped; idempotent (an unknown id is ignored)."""

    @abc.abstractmethod
    def list_deployments(self, *, include_stopped: bool = False) -> list[Deployment]:
        """Servers ordered by start time, newest first; stopped ones only on request."""

    @abc.abstractmethod
    def delete_deployments(self, *, stopped_before: datetime) -> int:
        """Forget servers that stopped before ``stopped_before`` (and their history);
        returns how many."""

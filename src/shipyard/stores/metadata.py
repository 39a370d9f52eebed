"""Metadata ports, split by aggregate: experiments and runs (registry, monitors... come later).

A backend implements `MetadataStore` (both aggregates). Contract tests live in
``shipyard.testing.contracts.metadata`` and every backend runs them.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from shipyard.entities.search import Expr, OrderBy
from shipyard.entities.tracking import (
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    ParamValue,
    Run,
    RunContext,
    RunStatus,
)


class _Unset:
    _inst: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = _Unset()
"""Marks an argument that was not given (distinct from None, which may be a real value)."""


class ExperimentStore(abc.ABC):
    """Named groups of runs."""

    @abc.abstractmethod
    def create_experiment(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Experiment:
        """Create an experiment. Raises `ExperimentAlreadyExistsError` if the name is taken
        (by an active or a deleted experiment)."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment (deleted ones too). Raises `ExperimentNotFoundError`."""

    @abc.abstractmethod
    def find_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with that exact name (deleted ones too), or None."""

    @abc.abstractmethod
    def list_experiments(self, *, include_deleted: bool = False) -> list[Experiment]:
        """All experiments ordered by creation time, oldest first."""

    @abc.abstractmethod
    def set_experiment_deleted(self, experiment_id: str, *, deleted: bool) -> Experiment:
        """Soft-delete or restore an experiment (and not its runs: the service does that).
        Idempotent. Raises `ExperimentNotFoundError`."""

    @abc.abstractmethod
    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently remove an experiment that has no runs left. Idempotent."""


class RunStore(abc.ABC):
    """Runs and everything logged to them. All writes to one run are atomic per call."""

    @abc.abstractmethod
    def create_run(
        self, *, experiment_id: str, name: str, start_time: datetime, context: RunContext,
        parent_id: str | None = None, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Run:
        """Create a run with status RUNNING. Raises `ExperimentNotFoundError` for an unknown
        experiment and `RunNotFoundError` for an unknown parent."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags and latest metrics. Raises `RunNotFoundError`."""

    @abc.abstractmethod
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs in the order asked; unknown ids are left out."""

    @abc.abstractmethod
    def update_run(
        self, run_id: str, *, status: RunStatus | object = UNSET,
        end_time: datetime | object | None = UNSET, name: str | object = UNSET,
        description: str | object = UNSET, error: str | object | None = UNSET,
    ) -> Run:
        """Change the given fields only. Raises `RunNotFoundError`."""

    @abc.abstractmethod
    def heartbeat(self, run_ids: Sequence[str], at: datetime) -> None:
        """Record that these runs are alive at ``at``."""

    @abc.abstractmethod
    def log_batch(
        self, run_id: str, *, metrics: Sequence[Metric] = (),
        params: dict[str, ParamValue] | None = None, tags: dict[str, str] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """Write metrics, params and tags in one transaction (all or nothing).

        Params are immutable: logging an existing key with an equal value is a no-op, with a
        different value raises `ParamConflictError` and writes nothing. ``batch_id`` makes the
        call idempotent: a second call with the same id writes nothing and returns False.
        Raises `RunNotFoundError`. Values are validated by the service, not here.
        """

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag; idempotent. Raises `RunNotFoundError`."""

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one series ordered by step, then timestamp. Raises
        `RunNotFoundError`; an unknown key gives an empty list."""

    @abc.abstractmethod
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets used by the run; re-logging the same (name, digest, context) is a
        no-op."""

    @abc.abstractmethod
    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Datasets of a run in logging order."""

    @abc.abstractmethod
    def record_artifact(self, run_id: str, info: ArtifactInfo) -> None:
        """Record (or replace) the size and hash of an artifact already stored."""

    def record_artifacts(self, run_id: str, infos: Sequence[ArtifactInfo]) -> None:
        """Record several artifacts at once; backends override this with one transaction
        (a folder of 1,000 small files otherwise pays 1,000 commits)."""
        for info in infos:
            self.record_artifact(run_id, info)

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        """Artifact records of a run whose path starts with ``prefix``, sorted by path."""

    @abc.abstractmethod
    def search_runs(
        self, experiment_ids: Sequence[str], *, filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (), max_results: int = 100, offset: int = 0,
        include_deleted: bool = False, deleted_only: bool = False,
    ) -> list[Run]:
        """Runs of the experiments matching ``filter``, sorted by ``order_by`` then by start
        time (newest first) and id, so pages are stable. Runs without a value for an order key
        sort last."""

    @abc.abstractmethod
    def set_runs_deleted(self, run_ids: Sequence[str], *, deleted: bool, at: datetime) -> None:
        """Soft-delete or restore runs; idempotent. Unknown ids raise `RunNotFoundError`."""

    @abc.abstractmethod
    def list_deleted_runs(self, *, deleted_before: datetime | None = None) -> list[Run]:
        """Soft-deleted runs (optionally only those deleted before a time)."""

    @abc.abstractmethod
    def purge_runs(self, run_ids: Sequence[str]) -> None:
        """Permanently remove runs and everything logged to them. Idempotent."""

    @abc.abstractmethod
    def find_stale_runs(self, *, heartbeat_before: datetime) -> list[Run]:
        """Running runs whose last heartbeat (or start) is older than ``heartbeat_before``."""

    def list_run_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """Every metric, param and tag key logged to any run of these experiments (deleted
        runs too), as ``{"metrics": [...], "params": [...], "tags": [...]}``, each sorted
        and without duplicates; unknown experiment ids add nothing.

        Why: a runs table's column chooser must offer the keys of every run, not just of
        the page it shows. This default reads every run through `search_runs` (correct,
        slow); backends answer it with a query per kind."""
        keys: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
        exps, offset, size = list(dict.fromkeys(experiment_ids)), 0, 1000
        while exps:
            page = self.search_runs(exps, max_results=size, offset=offset,
                                    include_deleted=True)
            for run in page:
                keys["metrics"].update(run.metrics)
                keys["params"].update(run.params)
                keys["tags"].update(run.tags)
            if len(page) < size:
                break
            offset += size
        return {kind: sorted(found) for kind, found in keys.items()}


class MetadataStore(ExperimentStore, RunStore, abc.ABC):
    """Everything the metadata database holds."""

    backend_name: str = "abstract"

    @property
    def supports_concurrent_writers(self) -> bool:
        """True when several processes may write at once."""
        return True

    @property
    def records_artifacts_on_upload(self) -> bool:
        """True when storing an artifact's bytes also records it (a Shipyard server does),
        so `record_artifact` is a no-op and records come only from real uploads."""
        return False

    @abc.abstractmethod
    def check(self) -> None:
        """Raise `BackendUnavailableError` if unreachable, `SchemaVersionError` if stale."""

    def close(self) -> None:
        """Release connections."""

    def after_fork(self) -> None:
        """Called in a child process right after ``os.fork()`` (``shipyard serve --workers``):
        forget connections inherited from the parent without closing them, so that parent and
        children never talk over one socket. The default has nothing to forget."""

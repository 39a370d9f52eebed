"""The tracking service: experiments, runs and everything logged to them.

It validates input, applies policy (names, context, artifact keys, hashing) and delegates
storage to the ports, so every backend behaves the same.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from shipyard.artifacts import HashingReader, validate_artifact_path
from shipyard.entities._ids import utc_now
from shipyard.entities.tracking import (
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    Page,
    ParamValue,
    Run,
    RunContext,
    RunStatus,
)
from shipyard.errors import (
    ArtifactNotFoundError,
    ConflictError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    invalid,
)
from shipyard.stores.artifacts import ArtifactStore
from shipyard.stores.metadata import UNSET, MetadataStore
from shipyard.tracking._context import capture_context
from shipyard.tracking._names import run_name
from shipyard.tracking._search import parse_filter, parse_order_by
from shipyard.tracking._validation import (
    normalize_param,
    normalize_tag,
    validate_key,
    validate_metric_value,
    validate_step,
)

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.config import Settings

MAX_RESULTS = 50_000
STALE_HEARTBEATS = 6
_UPLOAD_THREADS = 8  # concurrent file uploads of log_artifacts
_RECORD_CHUNK = 1000  # artifact records per transaction


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"The page_token {token!r} is not one this server issued."
        raise InvalidArgumentError(msg, hint="pass the next_page_token of a previous page") from exc
    if not isinstance(offset, int) or offset < 0:
        msg_0 = "page_token"
        raise invalid(msg_0, token, "a token from a previous page")
    return offset


class TrackingService:
    """Experiments, runs, params, metrics, artifacts and datasets."""

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore,
                 settings: Settings) -> None:
        self.metadata = metadata
        self.artifacts = artifacts
        self.settings = settings

    # -- experiments ------------------------------------------------------------------
    def create_experiment(self, name: str, *, description: str = "",
                          tags: Mapping[str, str] | None = None,
                          actor: str | None = None) -> Experiment:
        """``actor`` is recorded as the creator (the server passes the signed-in user)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 250:
            msg = "name"
            raise invalid(msg, name, "a non-empty string of at most 250 characters",
                          where="create_experiment")
        clean = {validate_key(k, "tag"): normalize_tag(k, v) for k, v in (tags or {}).items()}
        return self.metadata.create_experiment(name, description=description, tags=clean,
                                               created_by=actor)

    def get_experiment(self, id_or_name: str) -> Experiment:
        """By id, or by exact name."""
        exp = self.metadata.find_experiment_by_name(id_or_name)
        if exp is not None:
            return exp
        try:
            return self.metadata.get_experiment(id_or_name)
        except ExperimentNotFoundError:
            msg = f"No experiment with id or name {id_or_name!r}."
            raise ExperimentNotFoundError(
                msg, hint="list them with `shipyard experiments list`") from None

    def find_experiment(self, name: str) -> Experiment | None:
        """The experiment with exactly this name (deleted ones too), or None."""
        return self.metadata.find_experiment_by_name(name)

    def get_or_create_experiment(self, name: str, *, actor: str | None = None) -> Experiment:
        exp = self.metadata.find_experiment_by_name(name)
        if exp is None:
            from shipyard.errors import ExperimentAlreadyExistsError

            try:
                return self.create_experiment(name, actor=actor)
            except ExperimentAlreadyExistsError:  # created concurrently by another process
                exp = self.metadata.find_experiment_by_name(name)
                assert exp is not None
        if exp.lifecycle == "deleted":
            msg = f"Experiment {name!r} is deleted; runs cannot be added to it."
            raise InvalidArgumentError(
                msg, hint=f"restore it with `shipyard experiments restore {name}`")
        return exp

    def list_experiments(self, *, include_deleted: bool = False) -> list[Experiment]:
        return self.metadata.list_experiments(include_deleted=include_deleted)

    def delete_experiment(self, id_or_name: str) -> Experiment:
        """Soft-delete an experiment and its runs (restore undoes both)."""
        exp = self.get_experiment(id_or_name)
        runs = self._all_runs([exp.id])
        if runs:
            self.metadata.set_runs_deleted([r.id for r in runs], deleted=True, at=utc_now())
        return self.metadata.set_experiment_deleted(exp.id, deleted=True)

    def restore_experiment(self, id_or_name: str) -> Experiment:
        exp = self.get_experiment(id_or_name)
        runs = self.metadata.search_runs([exp.id], deleted_only=True, max_results=MAX_RESULTS)
        if runs:
            self.metadata.set_runs_deleted([r.id for r in runs], deleted=False, at=utc_now())
        return self.metadata.set_experiment_deleted(exp.id, deleted=False)

    # -- runs -------------------------------------------------------------------------
    def create_run(
        self, *, experiment: str | None = None, name: str | None = None,
        parent_id: str | None = None, tags: Mapping[str, Any] | None = None,
        description: str = "", context: RunContext | None = None,
        experiment_id: str | None = None, start_time: datetime | None = None,
        actor: str | None = None,
    ) -> Run:
        """Start a run (status running) in ``experiment`` (name or id; created if missing),
        or in the existing experiment ``experiment_id`` (`ExperimentNotFoundError` if none).

        ``actor`` is recorded as the creator (default: the user in ``context``)."""
        if experiment_id is not None:
            exp = self.metadata.get_experiment(experiment_id)
            if exp.lifecycle == "deleted":
                msg = f"Experiment {exp.name!r} is deleted; runs cannot be added to it."
                raise InvalidArgumentError(
                    msg, hint=f"restore it with `shipyard experiments restore {exp.name}`")
        else:
            exp_name = experiment or self.settings.default_experiment
            try:
                exp = self.metadata.get_experiment(exp_name)
            except ExperimentNotFoundError:
                exp = self.get_or_create_experiment(exp_name, actor=actor)
        if name is not None and (not isinstance(name, str) or len(name) > 250):
            msg = "name"
            raise invalid(msg, name, "a string of at most 250 characters", where="start_run")
        clean_tags = {validate_key(k, "tag"): normalize_tag(k, v)
                      for k, v in (tags or {}).items()}
        ctx = context if context is not None else capture_context()
        return self.metadata.create_run(
            experiment_id=exp.id, name=name or run_name(), start_time=start_time or utc_now(),
            context=ctx, parent_id=parent_id, description=description, tags=clean_tags,
            created_by=actor or ctx.user,
        )

    def get_run(self, run_id: str) -> Run:
        return self.metadata.get_run(run_id)

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs in the order asked; unknown ids are left out."""
        return self.metadata.get_runs(list(run_ids))

    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED, *,
                error: str | None = None) -> Run:
        try:
            st = RunStatus(status)
        except ValueError:
            msg = "status"
            raise invalid(msg, status, "one of " + ", ".join(s.value for s in RunStatus),
                          where="end_run") from None
        return self.metadata.update_run(
            run_id, status=st, end_time=None if st is RunStatus.RUNNING else utc_now(),
            error=error if error is not None else UNSET)

    def update_run(self, run_id: str, *, name: str | object = UNSET,
                   description: str | object = UNSET, status: RunStatus | str | object = UNSET,
                   end_time: datetime | object | None = UNSET,
                   error: str | object | None = UNSET) -> Run:
        """Change only the fields given (`end_run` is the usual way to finish a run)."""
        if status is not UNSET:
            try:
                status = RunStatus(status)  # type: ignore[arg-type]
            except ValueError:
                msg = "status"
                raise invalid(msg, status, "one of " + ", ".join(
                    s.value for s in RunStatus), where="update_run") from None
        return self.metadata.update_run(run_id, name=name, description=description,
                                        status=status, end_time=end_time, error=error)

    def heartbeat(self, run_ids: Sequence[str], *, at: datetime | None = None) -> None:
        self.metadata.heartbeat(run_ids, at or utc_now())

    def find_stale_runs(self, *, heartbeat_before: datetime) -> list[Run]:
        """Running runs whose last heartbeat is older than ``heartbeat_before``."""
        return self.metadata.find_stale_runs(heartbeat_before=heartbeat_before)

    def reap_stale_runs(self, *, timeout: timedelta | None = None) -> list[Run]:
        """Mark running runs whose process stopped heart-beating as killed."""
        limit = timeout or timedelta(seconds=self.settings.heartbeat_interval * STALE_HEARTBEATS)
        stale = self.metadata.find_stale_runs(heartbeat_before=utc_now() - limit)
        return [self.metadata.update_run(
            r.id, status=RunStatus.KILLED, end_time=r.heartbeat_at or r.start_time,
            error="no heartbeat: the process that ran it died") for r in stale]

    # -- logging ----------------------------------------------------------------------
    @staticmethod
    def make_metric(key: str, value: object, step: object = 0,
                    timestamp: datetime | None = None) -> Metric:
        """A validated metric point (raises `InvalidArgumentError` on bad input)."""
        validate_key(key, "metric")
        return Metric(key=key, value=validate_metric_value(key, value),
                      step=validate_step(key, step), timestamp=timestamp or utc_now())

    @staticmethod
    def make_metrics(rows: Iterable[tuple[str, object, object, datetime]]) -> list[Metric]:
        """Validated points from ``(key, value, step, timestamp)`` rows, like `make_metric`
        but checking each distinct key once (the server's batch path)."""
        seen: set[str] = set()
        out = []
        for key, value, step, timestamp in rows:
            if key not in seen:
                validate_key(key, "metric")
                seen.add(key)
            val = value if type(value) is float else validate_metric_value(key, value)
            st = step if type(step) is int else validate_step(key, step)
            out.append(Metric(key=key, value=val, step=st, timestamp=timestamp))  # type: ignore[arg-type]
        return out

    def log_metric(self, run_id: str, key: str, value: float, *, step: int = 0,
                   timestamp: datetime | None = None) -> None:
        self.metadata.log_batch(run_id, metrics=[self.make_metric(key, value, step, timestamp)])

    def log_param(self, run_id: str, key: str, value: ParamValue) -> None:
        self.log_batch(run_id, params={key: value})

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.metadata.delete_tag(run_id, validate_key(key, "tag"))

    def log_batch(
        self, run_id: str, *, metrics: Iterable[Metric] = (),
        params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """Validate everything first, then write atomically (all or nothing)."""
        points = list(metrics)
        for m in points:
            if not isinstance(m, Metric):
                msg = "metrics"
                raise invalid(msg, m, "a sequence of shipyard.Metric", where="log_batch")
        clean_params = {validate_key(k, "param"): normalize_param(k, v)
                        for k, v in (params or {}).items()}
        clean_tags = {validate_key(k, "tag"): normalize_tag(k, v)
                      for k, v in (tags or {}).items()}
        return self.metadata.log_batch(run_id, metrics=points, params=clean_params,
                                       tags=clean_tags, batch_id=batch_id)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.metadata.get_metric_history(run_id, key)

    def log_input(
        self, run_id: str, dataset: DatasetInput | Any, *, name: str | None = None,
        context: str | None = None, source: str | None = None,
    ) -> DatasetInput:
        """Record a dataset (a `DatasetInput` or a pandas DataFrame) as an input of the run."""
        if not isinstance(dataset, DatasetInput):
            from shipyard.tracking._frames import describe_dataframe

            dataset = describe_dataframe(dataset, name=name or "dataset", context=context,
                                         source=source)
        self.metadata.log_inputs(run_id, [dataset])
        return dataset

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record several datasets at once (re-logging one is a no-op)."""
        for d in datasets:
            if not isinstance(d, DatasetInput):
                msg = "datasets"
                raise invalid(msg, d, "a sequence of DatasetInput", where="log_inputs")
        self.metadata.log_inputs(run_id, list(datasets))

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        return self.metadata.list_inputs(run_id)

    # -- artifacts --------------------------------------------------------------------
    def _key(self, run: Run, path: str) -> str:
        return f"{run.experiment_id}/{run.id}/{path}"

    def log_stream(self, run_id: str, stream: BinaryIO, path: str) -> ArtifactInfo:
        """Stream bytes into ``path`` of the run; size and SHA-256 are recorded."""
        return self._log_stream(self._writable_run(run_id), stream, path)

    def _writable_run(self, run_id: str) -> Run:
        run = self.metadata.get_run(run_id)
        if run.lifecycle == "deleted":
            msg = f"Run {run_id!r} is deleted; nothing can be logged to it."
            raise InvalidArgumentError(msg)
        return run

    def _log_stream(self, run: Run, stream: BinaryIO, path: str) -> ArtifactInfo:
        info = self._store_stream(run, stream, validate_artifact_path(path))
        self.metadata.record_artifact(run.id, info)
        return info

    def _store_stream(self, run: Run, stream: BinaryIO, clean: str) -> ArtifactInfo:
        """Put the bytes at the (validated) path; its record is the caller's to write."""
        reader = HashingReader(stream)
        self.artifacts.put(self._key(run, clean), reader)  # type: ignore[arg-type]
        return ArtifactInfo(path=clean, size=reader.size, sha256=reader.sha256,
                            created_at=utc_now())

    def log_bytes(self, run_id: str, data: bytes, path: str) -> ArtifactInfo:
        return self.log_stream(run_id, io.BytesIO(data), path)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str],
                     artifact_path: str | None = None) -> ArtifactInfo:
        """Log one file under ``artifact_path`` (a folder in the run; default: top level)."""
        src = Path(local_path)
        if not src.is_file():
            msg = "local_path"
            raise invalid(msg, str(local_path), "an existing file",
                          where="log_artifact")
        dest = f"{artifact_path.strip('/')}/{src.name}" if artifact_path else src.name
        with src.open("rb") as fh:
            return self.log_stream(run_id, fh, dest)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str],
                      artifact_path: str | None = None) -> list[ArtifactInfo]:
        """Log every file under a folder, keeping its layout."""
        root = Path(local_dir)
        if not root.is_dir():
            msg = "local_dir"
            raise invalid(msg, str(local_dir), "an existing folder",
                          where="log_artifacts")
        run = self._writable_run(run_id)  # once, not per file
        jobs = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).as_posix()
            dest = f"{artifact_path.strip('/')}/{rel}" if artifact_path else rel
            jobs.append((file, validate_artifact_path(dest)))  # a bad name fails before any upload

        def put(job: tuple[Path, str]) -> ArtifactInfo:
            with job[0].open("rb") as fh:
                return self._store_stream(run, fh, job[1])

        # Uploads overlap (an S3 or server round trip per file dominates a folder of small
        # files); records are written in a few transactions instead of one per file.
        out: list[ArtifactInfo] = []
        with ThreadPoolExecutor(max_workers=max(1, min(_UPLOAD_THREADS, len(jobs)))) as pool:
            try:
                out.extend(pool.map(put, jobs))
            finally:  # whatever was stored before a failure is still recorded
                for i in range(0, len(out), _RECORD_CHUNK):
                    self.metadata.record_artifacts(run.id, out[i:i + _RECORD_CHUNK])
        return out

    def log_text(self, run_id: str, text: str, path: str) -> ArtifactInfo:
        return self.log_bytes(run_id, text.encode("utf-8"), path)

    def log_dict(self, run_id: str, data: Mapping[str, Any], path: str) -> ArtifactInfo:
        """JSON (default) or YAML when ``path`` ends in .yaml/.yml (needs PyYAML)."""
        if path.endswith((".yaml", ".yml")):
            import yaml  # type: ignore[import-untyped]

            return self.log_text(run_id, yaml.safe_dump(dict(data), sort_keys=False), path)
        return self.log_text(run_id, json.dumps(data, indent=2, default=str), path)

    def log_figure(self, run_id: str, figure: Any, path: str) -> ArtifactInfo:
        """A matplotlib figure (PNG/SVG/PDF by extension) or a plotly figure (HTML)."""
        buf = io.BytesIO()
        if hasattr(figure, "savefig"):
            figure.savefig(buf, format=Path(path).suffix.lstrip(".") or "png",
                           bbox_inches="tight")
        elif hasattr(figure, "write_html"):
            buf.write(figure.to_html(include_plotlyjs=True).encode())
        else:
            msg = "figure"
            raise invalid(msg, type(figure).__name__, "a matplotlib or plotly figure",
                          where="log_figure")
        buf.seek(0)
        return self.log_stream(run_id, buf, path)

    def log_table(self, run_id: str, frame: pd.DataFrame, path: str) -> ArtifactInfo:
        """A DataFrame as Parquet (streamed from a temporary file)."""
        if not path.endswith(".parquet"):
            msg = "path"
            raise invalid(msg, path, "a path ending in '.parquet'", where="log_table")
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "table.parquet"
            frame.to_parquet(file, index=False)
            with file.open("rb") as fh:
                return self.log_stream(run_id, fh, path)

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        return self.metadata.list_artifacts(run_id, prefix)

    def stat_artifact(self, run_id: str, path: str) -> ArtifactInfo:
        """The record (size, SHA-256) of one artifact. Raises `ArtifactNotFoundError`."""
        clean = validate_artifact_path(path)
        for info in self.metadata.list_artifacts(run_id, clean):
            if info.path == clean:
                return info
        self.metadata.get_run(run_id)  # an unknown run raises RunNotFoundError
        msg = f"Run {run_id!r} has no artifact {clean!r}."
        raise ArtifactNotFoundError(msg, hint=f"see `shipyard runs show {run_id}`")

    def delete_artifacts(self, run_id: str, prefix: str = "", *, exact: bool = False) -> int:
        """Remove the stored bytes of a deleted run's artifacts (all, those under ``prefix``,
        or with ``exact`` the one at that path); returns how many objects went. `gc` does
        this before purging the run's records."""
        run = self.metadata.get_run(run_id)
        if run.lifecycle != "deleted":
            msg = f"Run {run_id!r} is not deleted; only a deleted run's artifacts can be removed."
            raise ConflictError(msg, hint=f"delete it first: `shipyard runs delete {run_id}`")
        if exact:
            key = self._key(run, validate_artifact_path(prefix))
            found = self.artifacts.exists(key)
            self.artifacts.delete(key)
            return int(found)
        return self.artifacts.delete_prefix(self._key(run, prefix))

    def open_artifact(self, run_id: str, path: str, *, start: int = 0,
                      end: int | None = None) -> BinaryIO:
        clean = validate_artifact_path(path)
        run = self.metadata.get_run(run_id)
        if not self.metadata.list_artifacts(run_id, clean):
            msg = f"Run {run_id!r} has no artifact {clean!r}."
            raise ArtifactNotFoundError(msg, hint=f"see `shipyard runs show {run_id}`")
        return self.artifacts.open(self._key(run, clean), start=start, end=end)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        with self.open_artifact(run_id, path) as fh:
            return fh.read()

    def download_artifacts(self, run_id: str, dest: str | os.PathLike[str],
                           prefix: str = "") -> list[Path]:
        """Copy artifacts (all, or those under ``prefix``) into a local folder."""
        out = []
        root = Path(dest)
        for info in self.metadata.list_artifacts(run_id, prefix):
            target = root / info.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.open_artifact(run_id, info.path) as src, target.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            out.append(target)
        return out

    # -- search -----------------------------------------------------------------------
    def _experiment_ids(self, experiments: Sequence[str] | str | None) -> list[str]:
        if experiments is None:
            return []
        names = [experiments] if isinstance(experiments, str) else list(experiments)
        return [self.get_experiment(n).id for n in names]

    def search_runs(
        self, experiments: Sequence[str] | str | None = None, *, filter: str = "",
        order_by: Sequence[str] = (), max_results: int = 100, page_token: str | None = None,
        include_deleted: bool = False, deleted_only: bool = False, offset: int | None = None,
    ) -> Page[Run]:
        """Runs matching a filter such as ``metrics.auc > 0.8 and params.model = 'rf'``.

        Pages follow ``next_page_token``; ``offset`` (a position) may be given instead."""
        if isinstance(max_results, bool) or not isinstance(max_results, int) or not (
                1 <= max_results <= MAX_RESULTS):
            msg = "max_results"
            raise invalid(msg, max_results, f"an integer in 1..{MAX_RESULTS}",
                          where="search_runs")
        if isinstance(order_by, str):
            order_by = [order_by]
        expr = parse_filter(filter)
        order = parse_order_by(order_by)
        if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int)
                                   or offset < 0):
            msg = "offset"
            raise invalid(msg, offset, "an integer >= 0", where="search_runs")
        offset = _decode_token(page_token) if offset is None else offset
        runs = self.metadata.search_runs(
            self._experiment_ids(experiments), filter=expr, order_by=order,
            max_results=max_results + 1, offset=offset, include_deleted=include_deleted,
            deleted_only=deleted_only,
        )
        more = len(runs) > max_results
        return Page(items=runs[:max_results],
                    next_page_token=_encode_token(offset + max_results) if more else None)

    def list_run_keys(self, experiments: Sequence[str] | str) -> dict[str, list[str]]:
        """Every metric, param and tag key of the runs of these experiments (ids or names):
        ``{"metrics": [...], "params": [...], "tags": [...]}``, for a column chooser that
        must offer more than the keys of one page of runs."""
        return self.metadata.list_run_keys(self._experiment_ids(experiments))

    def search_runs_df(self, experiments: Sequence[str] | str | None = None,
                       **kwargs: Any) -> pd.DataFrame:
        """Like `search_runs` (every page) as a pandas DataFrame, one row a run."""
        from shipyard.tracking._frames import runs_to_dataframe

        return runs_to_dataframe(list(self.iter_runs(experiments, **kwargs)))

    def iter_runs(self, experiments: Sequence[str] | str | None = None,
                  **kwargs: Any) -> Iterator[Run]:
        token = None
        kwargs.setdefault("max_results", 1000)
        while True:
            page = self.search_runs(experiments, page_token=token, **kwargs)
            yield from page.items
            token = page.next_page_token
            if token is None:
                return

    def _all_runs(self, experiment_ids: list[str]) -> list[Run]:
        return self.metadata.search_runs(experiment_ids, max_results=MAX_RESULTS)

    # -- deletion ---------------------------------------------------------------------
    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft delete (restorable until `gc`)."""
        self.metadata.set_runs_deleted(list(run_ids), deleted=True, at=utc_now())

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        self.metadata.set_runs_deleted(list(run_ids), deleted=False, at=utc_now())

    def list_deleted_runs(self, *, deleted_before: datetime | None = None) -> list[Run]:
        """Soft-deleted runs (optionally only those deleted before a time)."""
        return self.metadata.list_deleted_runs(deleted_before=deleted_before)

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        """Permanently remove runs, their artifacts and everything logged to them."""
        for run in self.metadata.get_runs(list(run_ids)):
            self.artifacts.delete_prefix(f"{run.experiment_id}/{run.id}/")
        self.metadata.purge_runs(list(run_ids))

    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently remove an experiment that has no runs left (idempotent)."""
        self.metadata.purge_experiment(experiment_id)

    def gc(self, *, older_than: timedelta | None = None) -> list[str]:
        """Permanently remove deleted runs (deleted before now - ``older_than``), their
        artifacts, and deleted experiments left empty. Returns the purged run ids."""
        cutoff = utc_now() - older_than if older_than else None
        runs = self.metadata.list_deleted_runs(deleted_before=cutoff)
        for run in runs:
            self.artifacts.delete_prefix(f"{run.experiment_id}/{run.id}/")
        self.metadata.purge_runs([r.id for r in runs])
        for exp in self.metadata.list_experiments(include_deleted=True):
            if exp.lifecycle == "deleted" and (cutoff is None or (
                    exp.deleted_at and exp.deleted_at < cutoff)) and not self.metadata.search_runs(
                    [exp.id], include_deleted=True, max_results=1):
                self.metadata.purge_experiment(exp.id)
        return [r.id for r in runs]

"""The fluent API: ``with shipyard.start_run(experiment="churn"): shipyard.log_metric(...)``.

Module-level functions act on the innermost active run. Per-call metric logging only appends
to an in-memory buffer; a background thread writes batches (see ``_buffer``), so a training
loop is never slowed by the store.
"""

from __future__ import annotations

import atexit
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import utc_now
from shipyard.entities.tracking import ArtifactInfo, DatasetInput, Metric, Page, Run, RunStatus
from shipyard.errors import InvalidArgumentError
from shipyard.tracking._buffer import MetricBuffer
from shipyard.tracking._validation import validate_key, validate_metric_value, validate_step

if TYPE_CHECKING:
    from shipyard.client import Client
    from shipyard.tracking._service import TrackingService

_lock = threading.RLock()
_client: Client | None = None
_experiment: str | None = None
_active: list[ActiveRun] = []


def get_client() -> Client:
    """The process-wide client built from settings on first use."""
    global _client
    with _lock:
        if _client is None:
            from shipyard.client import Client

            _client = Client()
        return _client


def _reset_for_tests() -> None:
    """Forget the global client (tests switch settings between cases)."""
    global _client, _experiment
    with _lock:
        while _active:
            _active[-1].end()
        if _client is not None:
            _client.close()
        _client, _experiment = None, None


def set_experiment(name: str) -> None:
    """Default experiment of the runs started after this call."""
    global _experiment
    get_client().tracking.get_or_create_experiment(name)
    _experiment = name


class ActiveRun:
    """A live run: log to it directly, or through the module functions."""

    def __init__(self, service: TrackingService, run: Run, *, system_metrics: bool) -> None:
        self.service = service
        self.id = run.id
        self.info = run
        self._steps: dict[str, int] = {}
        settings = service.settings
        run_id = run.id
        self.buffer = MetricBuffer(
            lambda pts, bid: service.log_batch(run_id, metrics=pts, batch_id=bid),
            interval=settings.metric_flush_interval, max_batch=settings.metric_batch_size,
            heartbeat=lambda: service.heartbeat([run_id]),
            heartbeat_interval=settings.heartbeat_interval,
        )
        self._sampler = None
        if system_metrics:
            from shipyard.tracking._system import SystemMetricsSampler

            self._sampler = SystemMetricsSampler(self.buffer.extend,
                                                 interval=settings.system_metrics_interval)
        self._ended = False

    # logging ------------------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None,
                   timestamp: datetime | None = None) -> None:
        """Buffer one point; ``step`` defaults to 0, 1, 2, ... per key."""
        last = self._steps.get(key)
        if last is None:  # a key seen before in this run was validated then
            validate_key(key, "metric")
        val = value if type(value) is float else validate_metric_value(key, value)
        if step is None:
            step = -1 if last is None else last
            step += 1
        elif type(step) is not int:
            step = validate_step(key, step)
        self._steps[key] = step if last is None or step > last else last
        self.buffer.add(Metric(key=key, value=val, step=step, timestamp=timestamp or utc_now()))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None,
                    timestamp: datetime | None = None) -> None:
        ts = timestamp or utc_now()
        for key, value in metrics.items():
            self.log_metric(key, value, step, ts)

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.service.log_batch(self.id, params=params)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.service.log_batch(self.id, tags=tags)

    def flush(self) -> None:
        self.buffer.flush()

    def refresh(self) -> Run:
        self.flush()
        self.info = self.service.get_run(self.id)
        return self.info

    # lifecycle ----------------------------------------------------------------------
    def end(self, status: RunStatus | str = RunStatus.FINISHED, *, error: str | None = None) -> Run:
        with _lock:
            if self._ended:
                return self.info
            self._ended = True
            if self in _active:
                _active.remove(self)
        if self._sampler is not None:
            self._sampler.stop()
        try:
            self.buffer.close()
        finally:
            self.info = self.service.end_run(self.id, status, error=error)
        return self.info

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.end(RunStatus.FINISHED)
        elif isinstance(exc, KeyboardInterrupt):
            self.end(RunStatus.KILLED, error="KeyboardInterrupt")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))[-8000:]
            self.end(RunStatus.FAILED, error=text)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.info.name} id={self.id}>"


def start_run(
    *, experiment: str | None = None, run_name: str | None = None, nested: bool = False,
    parent_id: str | None = None, tags: Mapping[str, Any] | None = None,
    description: str = "", system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run and make it the active one (use it as a context manager).

    A run already active becomes the parent when ``nested=True``; otherwise starting a second
    run is an error, so metrics never land in the wrong run.
    """
    client = get_client()
    with _lock:
        parent = parent_id
        if _active and parent is None:
            if not nested:
                msg = (f"Run {_active[-1].id} is already active. End it first, or pass "
                       "nested=True to start a child run.")
                raise InvalidArgumentError(msg)
            parent = _active[-1].id
        exp = experiment or _experiment
        if exp is None and parent is not None:
            exp = client.tracking.get_run(parent).experiment_id
        run = client.tracking.create_run(experiment=exp, name=run_name, parent_id=parent,
                                         tags=tags, description=description)
        sysm = client.settings.system_metrics if system_metrics is None else system_metrics
        active = ActiveRun(client.tracking, run, system_metrics=sysm)
        _active.append(active)
        _register_atexit()
        return active


def active_run() -> ActiveRun | None:
    return _active[-1] if _active else None


def _current() -> ActiveRun:
    run = active_run()
    if run is None:
        msg = "No active run: wrap your code in `with shipyard.start_run():`."
        raise InvalidArgumentError(msg)
    return run


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> Run | None:
    run = active_run()
    return None if run is None else run.end(status)


def log_metric(key: str, value: float, step: int | None = None,
               timestamp: datetime | None = None) -> None:
    _current().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None,
                timestamp: datetime | None = None) -> None:
    _current().log_metrics(metrics, step, timestamp)


def log_param(key: str, value: Any) -> None:
    _current().log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_artifact(local_path: str, artifact_path: str | None = None) -> ArtifactInfo:
    return get_client().tracking.log_artifact(_current().id, local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None) -> list[ArtifactInfo]:
    return get_client().tracking.log_artifacts(_current().id, local_dir, artifact_path)


def log_text(text: str, path: str) -> ArtifactInfo:
    return get_client().tracking.log_text(_current().id, text, path)


def log_dict(data: Mapping[str, Any], path: str) -> ArtifactInfo:
    return get_client().tracking.log_dict(_current().id, data, path)


def log_figure(figure: Any, path: str) -> ArtifactInfo:
    return get_client().tracking.log_figure(_current().id, figure, path)


def log_table(frame: Any, path: str) -> ArtifactInfo:
    return get_client().tracking.log_table(_current().id, frame, path)


def log_input(dataset: Any, *, name: str | None = None, context: str | None = None,
              source: str | None = None) -> DatasetInput:
    return get_client().tracking.log_input(_current().id, dataset, name=name, context=context,
                                           source=source)


def flush() -> None:
    """Write every buffered metric point of every active run now."""
    for run in list(_active):
        run.flush()


def search_runs(experiments: Sequence[str] | str | None = None, *, filter: str = "",
                order_by: Sequence[str] = (), max_results: int = 100,
                page_token: str | None = None, output: str = "list") -> Any:
    """Search runs; ``output="pandas"`` returns every matching run as a DataFrame."""
    svc = get_client().tracking
    if output == "pandas":
        return svc.search_runs_df(experiments, filter=filter, order_by=order_by)
    page: Page[Run] = svc.search_runs(experiments, filter=filter, order_by=order_by,
                                      max_results=max_results, page_token=page_token)
    return page.items


_registered = False


def _register_atexit() -> None:
    global _registered
    if not _registered:
        atexit.register(_at_exit)
        _registered = True


def _at_exit() -> None:
    """End runs left open: failed if the interpreter is exiting on an uncaught exception."""
    failed = getattr(sys, "last_value", None) is not None
    for run in reversed(list(_active)):
        try:
            if failed:
                err = "".join(traceback.format_exception(sys.last_value))[-8000:]  # type: ignore[arg-type]
                run.end(RunStatus.FAILED, error=err)
            else:
                run.end(RunStatus.FINISHED)
        except Exception as exc:
            print(f"shipyard: could not end run {run.id}: {exc}", file=sys.stderr)  # noqa: T201

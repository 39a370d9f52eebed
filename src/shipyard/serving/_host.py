"""The model host: the models one server process serves, loaded, warmed up and swappable.

`ModelHost` loads each URI through the library (``client.models.load_model``), so a model
served is exactly the model ``shipyard.load_model`` returns, signature validation included.
Each loaded version has its own `MicroBatcher`; the versions of one name share one model
thread. A model that follows an alias (``models:/churn@champion``) or ``latest`` is reloaded
when it moves: the new version is loaded and warmed up on the side, then becomes current in
one assignment. Requests already given the old version finish on it; no request sees a
half-loaded model, and every answer comes from exactly one version.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.errors import (
    InvalidArgumentError,
    ModelNotReadyError,
    ModelNotServedError,
    PredictionError,
    ShipyardError,
    SignatureError,
)
from shipyard.serving._batcher import Job, MicroBatcher
from shipyard.serving._codec import InputSpec, rows_of
from shipyard.serving._fast import Predictor
from shipyard.serving._predlog import PredictionLogger, PredictionRecord, now_ms

if TYPE_CHECKING:
    from shipyard.models import ModelService, PyFuncModel
    from shipyard.registry import RegistryService

log = logging.getLogger("shipyard.serving")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
_MODEL_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How the host batches, times out and logs (from the serve_* settings)."""

    max_batch_size: int = 64
    max_latency_ms: float = 5.0
    max_queue_rows: int = 20_000
    request_timeout: float = 30.0
    fast_path: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> ServeOptions:
        return cls(max_batch_size=settings.serve_max_batch_size,
                   max_latency_ms=settings.serve_max_latency_ms,
                   max_queue_rows=settings.serve_max_queue_rows,
                   request_timeout=settings.serve_request_timeout)


class ServingObserver:
    """Hooks the HTTP layer implements to export metrics; the defaults do nothing."""

    def on_batch(self, model: str, version: str, rows: int, requests: int, seconds: float,
                 queue_seconds: list[float]) -> None:
        """After every model call."""

    def on_reload(self, model: str, version: str, outcome: str) -> None:
        """After a version was loaded (``outcome``: loaded, failed)."""


@dataclass(slots=True)
class Prediction:
    """What one request gets back."""

    name: str
    version: int | None
    predictions: Any
    probabilities: Any
    classes: list[Any] | None
    rows: int
    extra: dict[str, Any] = field(default_factory=dict)


def _concat(parts: list[Any]) -> Any:
    first = parts[0]
    if any(type(p) is not type(first) for p in parts):
        msg = "mixed input kinds"
        raise TypeError(msg)
    if type(first).__module__ == "numpy":
        import numpy as np

        return np.concatenate(parts)
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    msg = f"cannot merge {type(first).__name__} inputs"
    raise TypeError(msg)


def _slice(value: Any, start: int, stop: int) -> Any:
    if value is None:
        return None
    if hasattr(value, "iloc"):
        return value.iloc[start:stop]
    return value[start:stop]


def _model_error(exc: BaseException) -> BaseException:
    if isinstance(exc, ShipyardError) or not isinstance(exc, _MODEL_ERRORS):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    msg = f"The model could not predict on this input: {text[:500]}"
    err = PredictionError(msg)
    err.__cause__ = exc
    return err


class ServedVersion:
    """One loaded, warmed-up version of a served model."""

    def __init__(self, *, name: str, version: int | None, uri: str, model: PyFuncModel,
                 executor: ThreadPoolExecutor, options: ServeOptions,
                 observer: ServingObserver) -> None:
        self.name = name
        self.version = version
        self.uri = uri
        self.model = model
        self.spec = InputSpec.of(model)
        self.predictor = Predictor(model)
        self.has_proba = model.has_predict_proba
        self.classes = self.predictor.classes or _onnx_classes(model)
        self.label = "" if version is None else str(version)
        self.loaded_at = time.time()
        self.warmup_seconds = 0.0
        self.in_flight = 0
        options_ms = options.max_latency_ms / 1000

        def observe(rows: int, requests: int, seconds: float, queued: list[float]) -> None:
            observer.on_batch(name, self.label, rows, requests, seconds, queued)

        self.batcher = MicroBatcher(self._run, executor=executor,
                                    max_batch_size=options.max_batch_size,
                                    max_latency=options_ms,
                                    max_queue_rows=options.max_queue_rows, observer=observe)
        self._fast = options.fast_path

    # -- calling the model (in the model thread) ---------------------------------------
    def _run(self, jobs: list[Job]) -> None:
        if len(jobs) > 1:
            try:
                x = _concat([j.input for j in jobs])
            except TypeError:
                x = None
            if x is not None:
                try:
                    self._run_one(jobs, x)
                    return
                except BaseException as exc:
                    if not isinstance(exc, Exception):
                        raise
            for job in jobs:  # one by one, so one bad request fails alone
                job.result = job.error = None
                try:
                    self._run_one([job], job.input)
                except Exception as exc:
                    job.error = _model_error(exc)
            return
        try:
            self._run_one(jobs, jobs[0].input)
        except Exception as exc:
            jobs[0].error = _model_error(exc)

    def _run_one(self, jobs: list[Job], x: Any) -> None:
        want_pred = any("predict" in j.outputs for j in jobs)
        want_proba = self.has_proba and any("predict_proba" in j.outputs for j in jobs)
        pred, proba = self.predictor.both(x, predict=want_pred, proba=want_proba)
        total = sum(j.rows for j in jobs)
        for out in (pred, proba):
            if out is not None and len(out) != total:
                msg = f"The model returned {len(out)} outputs for {total} rows."
                raise RuntimeError(msg)
        start = 0
        for job in jobs:
            stop = start + job.rows
            job.result = (_slice(pred, start, stop), _slice(proba, start, stop))
            start = stop

    def warm_up(self) -> None:
        """Call the model on its input example (or zeros), try the fast path, and time a
        one-row and a whole-example call (the batcher's first cost estimate)."""
        start = time.perf_counter()
        example = _example(self.model)
        if example is None:
            return
        if self._fast:
            self.predictor.try_fast_path(example)
        x = self.predictor.prepare(example)
        both = frozenset({"predict", "predict_proba"})
        for part in (x, x[:1] if not hasattr(x, "iloc") else x.iloc[:1], x):
            job = Job(input=part, rows=rows_of(part), outputs=both)
            began = time.perf_counter()
            self._run([job])
            if job.error is not None:
                raise job.error
            self.batcher.cost.observe(job.rows, time.perf_counter() - began)
        self.warmup_seconds = time.perf_counter() - start

    def describe(self) -> dict[str, Any]:
        sig = self.model.signature
        from shipyard.models import signature_to_dict

        return {
            "name": self.name, "version": self.version, "version_uri": self.uri,
            "flavor": self.model.flavor,
            "signature": None if sig is None else signature_to_dict(sig),
            "methods": ["predict", "predict_proba"] if self.has_proba else ["predict"],
            "classes": self.classes, "path": self.predictor.path,
            "loaded_at": self.loaded_at,
        }


def _example(model: PyFuncModel) -> Any:
    """The package's input example, as a numpy matrix when it is numeric (no pandas)."""
    import numpy as np

    path = model.folder / "input_example.json"
    if path.is_file():
        doc = json.loads(path.read_text())
        if doc.get("type") == "ndarray":
            return np.array(doc["data"], dtype=doc["dtype"]).reshape(doc["shape"])
        names = model.signature.column_names if model.signature is not None else []
        if doc.get("columns") == names and all(
                str(t).startswith(("float", "int", "uint")) for t in doc["dtypes"]):
            return np.array(doc["data"], dtype="float64").T.astype(
                doc["dtypes"][0] if len(set(doc["dtypes"])) == 1 else "float64")
        return model.input_example
    sig = model.signature
    if sig is None:
        return None
    if sig.is_tensor:
        shape = [1 if d == -1 else d for d in sig.inputs.shape]  # type: ignore[union-attr]
        return np.zeros(shape, dtype=sig.inputs.type)  # type: ignore[union-attr]
    spec = InputSpec.of(model)
    if spec.numeric and spec.columns:
        return np.zeros((1, len(spec.columns)), dtype=spec.types[spec.columns[0]])
    return None


def _onnx_classes(model: PyFuncModel) -> list[Any] | None:
    if model.flavor != "onnx" or not model.has_predict_proba:
        return None
    for node in model.native.graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_int64s" and attr.ints:
                return list(attr.ints)
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
    return None


class ServedModel:
    """One name on the server: the URI it follows and its current version."""

    def __init__(self, name: str, uri: str) -> None:
        from shipyard.models import parse_model_uri

        self.name = name
        self.uri = uri
        self.parsed = parse_model_uri(uri)
        self.current: ServedVersion | None = None
        self.error: str | None = None
        self.executor = ThreadPoolExecutor(max_workers=1,
                                           thread_name_prefix=f"shipyard-model-{name}")

    @property
    def follows(self) -> str | None:
        """The alias (or ``latest``) this name follows, None for a fixed version."""
        if self.parsed.kind != "registry":
            return None
        if self.parsed.alias:
            return self.parsed.alias
        return "latest" if self.parsed.latest else None


def parse_targets(targets: list[str]) -> list[tuple[str, str]]:
    """``["models:/churn@champion", "fraud=runs:/<id>/model"]`` -> [(name, uri)], with
    every served name unique."""
    from shipyard.models import parse_model_uri

    out: list[tuple[str, str]] = []
    for target in targets:
        name, sep, uri = target.partition("=")
        if not sep or "://" in name or name.startswith(("models:", "runs:")):
            name, uri = "", target
        parsed = parse_model_uri(uri)
        if not name:
            if parsed.kind == "registry":
                name = parsed.name or ""
            else:
                name = (parsed.path or "model").rstrip("/").rsplit("/", 1)[-1]
        if not _NAME.match(name):
            msg = (f"Served model name {name!r} (from {target!r}) must be letters, digits, "
                   "'_', '-' or '.'.")
            raise InvalidArgumentError(msg, hint="name it explicitly: NAME=URI")
        if name in {n for n, _ in out}:
            msg = f"Two served models are named {name!r}."
            raise InvalidArgumentError(msg, hint="name them apart: churn_a=models:/churn/3")
        out.append((name, uri))
    if not out:
        msg = "No model to serve."
        raise InvalidArgumentError(msg, hint="name at least one URI, e.g. "
                                             "`shipyard serve models:/churn@champion`")
    return out


class ModelHost:
    """The models of one server process (see the module docstring)."""

    def __init__(self, models: ModelService, registry: RegistryService, targets: list[str], *,
                 options: ServeOptions | None = None,
                 logger: PredictionLogger | None = None,
                 observer: ServingObserver | None = None) -> None:
        self.loader = models
        self.registry = registry
        self.options = options or ServeOptions()
        self.logger = logger
        self.observer = observer or ServingObserver()
        self.models: dict[str, ServedModel] = {
            name: ServedModel(name, uri) for name, uri in parse_targets(targets)}
        self._reload_lock = threading.Lock()
        self.started_at = time.time()

    @classmethod
    def from_client(cls, client: Any, targets: list[str], **kwargs: Any) -> ModelHost:
        """A host over a `shipyard.Client`'s model and registry services and settings."""
        kwargs.setdefault("options", ServeOptions.from_settings(client.settings))
        return cls(client.models, client.registry, targets, **kwargs)

    # -- loading ----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return all(m.current is not None for m in self.models.values())

    def resolve(self, served: ServedModel) -> tuple[int | None, str]:
        parsed = served.parsed
        if parsed.kind != "registry":
            return None, served.uri
        assert parsed.name is not None
        registry = self.registry
        if parsed.alias:
            version = registry.get_alias(parsed.name, parsed.alias).version
        elif parsed.latest:
            latest = registry.get_registered_model(parsed.name).latest_version
            if latest is None:
                from shipyard.errors import ModelVersionNotFoundError

                msg = f"Model {parsed.name!r} has no versions yet."
                raise ModelVersionNotFoundError(msg)
            version = latest
        else:
            assert parsed.version is not None
            version = parsed.version
        return version, f"models:/{parsed.name}/{version}"

    def _load(self, served: ServedModel, version: int | None, uri: str) -> ServedVersion:
        start = time.perf_counter()
        model = self.loader.load_model(uri, lazy=True)  # compiled arrays: no unpickling
        loaded = ServedVersion(name=served.name, version=version, uri=uri, model=model,
                               executor=served.executor, options=self.options,
                               observer=self.observer)
        loaded.warm_up()
        log.info("loaded %s version %s (%s, %s path) in %.2fs", served.name, version,
                 model.flavor, loaded.predictor.path, time.perf_counter() - start)
        return loaded

    def load(self) -> None:
        """Load and warm up every model (at start-up); raises on the first failure."""
        for served in self.models.values():
            if served.current is not None:
                continue
            version, uri = self.resolve(served)
            try:
                served.current = self._load(served, version, uri)
            except Exception as exc:
                served.error = exc.message if isinstance(exc, ShipyardError) else (
                    f"{type(exc).__name__}: {exc}")
                raise
            self.observer.on_reload(served.name, served.current.label, "loaded")

    def reload(self, name: str | None = None) -> list[dict[str, Any]]:
        """Check the aliases followed (all, or ``name``'s) and switch any that moved.

        Returns one entry per model checked: name, from, to, outcome (``unchanged``,
        ``switched``, ``failed`` with ``error``). The old version keeps serving when the
        new one fails to load or warm up."""
        targets = [self.get(name)] if name is not None else list(self.models.values())
        out = []
        with self._reload_lock:
            for served in targets:
                before = served.current.version if served.current is not None else None
                entry: dict[str, Any] = {"name": served.name, "from": before, "to": before}
                try:
                    version, uri = self.resolve(served)
                    if served.current is not None and version == served.current.version:
                        entry["outcome"] = "unchanged"
                    else:
                        new = self._load(served, version, uri)
                        served.current = new  # the switch: one assignment
                        served.error = None
                        entry.update(to=version, outcome="switched")
                        self.observer.on_reload(served.name, new.label, "loaded")
                        log.info("%s now serves version %s (was %s)", served.name, version,
                                 before)
                except Exception as exc:
                    text = exc.message if isinstance(exc, ShipyardError) else (
                        f"{type(exc).__name__}: {exc}")
                    entry.update(outcome="failed", error=text)
                    served.error = text
                    self.observer.on_reload(served.name, str(before or ""), "failed")
                    log.warning("reloading %s failed; still serving version %s: %s",
                                served.name, before, text)
                out.append(entry)
        return out

    # -- serving ----------------------------------------------------------------------
    def get(self, name: str) -> ServedModel:
        served = self.models.get(name)
        if served is None:
            msg = (f"This server does not serve a model named {name!r}; it serves "
                   f"{', '.join(sorted(self.models))}.")
            raise ModelNotServedError(msg)
        return served

    def current(self, name: str) -> ServedVersion:
        """The version new requests for ``name`` go to."""
        version = self.get(name).current
        if version is None:
            msg = f"Model {name!r} is not loaded yet."
            raise ModelNotReadyError(msg)
        return version

    async def predict(self, version: ServedVersion, x: Any, *, outputs: frozenset[str],
                      request_id: str, received_ms: int | None = None,
                      started: float | None = None,
                      timeout: float | object | None = ...) -> Prediction:
        """Run prepared input ``x`` through ``version`` (batched with other requests);
        logs the prediction when a logger is set. ``timeout`` defaults to the request
        timeout option; None leaves it to the caller."""
        rows = rows_of(x)
        if rows == 0:
            msg = "The request holds no rows."
            raise InvalidArgumentError(msg, hint="send at least one row to predict on")
        wanted = set(outputs)
        logger = self.logger
        if logger is not None:
            wanted.add("predict")
            if version.predictor.one_pass:
                wanted.add("predict_proba")
        if not version.has_proba and "predict_proba" in wanted:
            if "predict_proba" in outputs:
                msg = f"Model {version.name!r} ({version.model.flavor}) has no predict_proba."
                raise InvalidArgumentError(msg, hint="call predict instead")
            wanted.discard("predict_proba")
        job = Job(input=x, rows=rows, outputs=frozenset(wanted))
        version.in_flight += 1
        try:
            limit = self.options.request_timeout if timeout is ... else timeout
            pred, proba = await version.batcher.submit(job, timeout=limit)  # type: ignore[arg-type]
        finally:
            version.in_flight -= 1
        result = Prediction(name=version.name, version=version.version, predictions=pred,
                            probabilities=proba, classes=version.classes, rows=rows)
        if logger is not None:
            ts = received_ms if received_ms is not None else now_ms()
            latency = (time.perf_counter() - started) * 1000 if started is not None else 0.0
            result.extra["log_latency_ms"] = latency
            logger.log(PredictionRecord(
                model=version.name, version=version.version, request_id=request_id,
                timestamp_ms=ts, latency_ms=latency, input=x, columns=version.spec.columns,
                predictions=pred, probabilities=proba, classes=version.classes))
        return result

    def prepare(self, version: ServedVersion, data: Any) -> Any:
        """Validate in-memory data (a DataFrame, rows, an array) for ``version``."""
        try:
            return version.predictor.prepare(data)
        except SignatureError:
            raise
        except (ValueError, TypeError) as exc:
            msg = f"The input cannot be read as the model's input: {exc}"
            raise InvalidArgumentError(msg) from exc

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for served in self.models.values():
            entry: dict[str, Any] = {"name": served.name, "uri": served.uri,
                                     "follows": served.follows, "ready": False}
            if served.current is not None:
                entry.update(served.current.describe())
                entry.update(name=served.name, uri=served.uri, ready=True)
            if served.error:
                entry["error"] = served.error
            out.append(entry)
        return out

    def close(self) -> None:
        for served in self.models.values():
            served.executor.shutdown(wait=False, cancel_futures=True)

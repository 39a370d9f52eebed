"""Client mode: the metadata and artifact ports over a Shipyard server's REST API (``/api/v1``).

With ``SHIPYARD_TRACKING_URI=http(s)://host:port`` the `Client` builds these two stores, so
the fluent API, ``Client().tracking`` and the CLI work unchanged against a server. The server
holds the database and the artifact store; a client needs no database driver and no cloud
credentials.

Artifact keys are ``{experiment_id}/{run_id}/{path}`` (see ``TrackingService``); this store
maps them onto the run artifact routes. Uploads stream from the caller's file object in
1 MiB chunks; downloads stream back (ranged with ``Range: bytes=a-b``).
"""

from __future__ import annotations

import contextlib
import io
import threading
import uuid
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

import httpx

from shipyard._internal.wire import jsonable, load, metric_to_wire
from shipyard.backends.remote._session import RemoteSession
from shipyard.backends.remote._session import segment as _seg
from shipyard.backends.remote.registry import RemoteRegistryStore
from shipyard.entities.search import Expr, OrderBy, render, render_order
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
from shipyard.errors import (
    ArtifactAlreadyExistsError,
    ArtifactNotFoundError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    NotFoundError,
    RangeNotSatisfiableError,
    invalid,
)
from shipyard.stores.artifacts import ArtifactStore
from shipyard.stores.metadata import UNSET, MetadataStore

if TYPE_CHECKING:
    from shipyard.config import Settings

API = "/api/v1"
CHUNK = 1024 * 1024
PAGE = 1000  # runs per search request when a caller asks for more


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


_sessions: dict[tuple[str, int], tuple[weakref.ref[Any], weakref.ref[RemoteSession]]] = {}
_sessions_lock = threading.Lock()


def shared_session(uri: str, settings: Settings | None) -> RemoteSession:
    """One connection pool for the metadata and artifact stores a `Client` builds from the
    same settings. Held weakly: it closes with the stores (or when they are collected)."""
    key = (uri.rstrip("/"), id(settings))
    with _sessions_lock:
        found = _sessions.get(key)
        if found is not None and settings is not None and found[0]() is settings:
            session = found[1]()
            if session is not None and not session.http.is_closed:
                return session
        session = RemoteSession.from_settings(uri, settings)
        if settings is not None:
            _sessions[key] = (weakref.ref(settings), weakref.ref(session))
        return session


def _forget(session: RemoteSession) -> None:
    with _sessions_lock:
        for key, (_, ref) in list(_sessions.items()):
            if ref() is session or ref() is None:
                del _sessions[key]


class RemoteMetadataStore(RemoteRegistryStore, MetadataStore):
    """`MetadataStore` (and the registry ports, see ``registry.py``) over HTTP. Writes are
    applied by the server's services, which validate them again and record who made them."""

    backend_name = "remote"

    def __init__(self, session: RemoteSession) -> None:
        self.session = session

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> RemoteMetadataStore:
        return cls(shared_session(uri, settings))

    @property
    def records_artifacts_on_upload(self) -> bool:
        return True

    def check(self) -> None:
        """``GET /ready``: raises `BackendUnavailableError` if the server or its database is
        down, `SchemaVersionError` if the database needs ``shipyard db upgrade``."""
        self.session.request("GET", "/ready")

    def close(self) -> None:
        _forget(self.session)
        self.session.close()

    def after_fork(self) -> None:
        self.session.after_fork()

    def _get(self, path: str, **params: Any) -> Any:
        return self.session.json("GET", API + path, params=params)

    def _post(self, path: str, body: Any, *, idempotent: bool = True) -> Any:
        return self.session.json("POST", API + path, json=body, idempotent=idempotent)

    # -- experiments ----------------------------------------------------------------------
    def create_experiment(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Experiment:
        # created_by is decided by the server (the signed-in user), not by the client.
        body = {"name": name, "description": description, "tags": tags or {}}
        return load(Experiment, self._post("/experiments", body, idempotent=False))

    def get_experiment(self, experiment_id: str) -> Experiment:
        if "/" in experiment_id:  # never an id, and a URL path cannot carry it
            msg = f"No experiment with id {experiment_id!r}."
            raise ExperimentNotFoundError(msg, hint="list them with `shipyard experiments list`")
        return load(Experiment, self._get(f"/experiments/{_seg(experiment_id)}"))

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._get("/experiments", name=name, include_deleted=True)
        return load(Experiment, found[0]) if found else None

    def list_experiments(self, *, include_deleted: bool = False) -> list[Experiment]:
        return load(list[Experiment], self._get("/experiments", include_deleted=include_deleted))

    def set_experiment_deleted(self, experiment_id: str, *, deleted: bool) -> Experiment:
        path = f"{API}/experiments/{_seg(experiment_id)}"
        if deleted:
            return load(Experiment, self.session.json("DELETE", path))
        return load(Experiment, self.session.json("POST", path + "/restore", idempotent=True))

    def purge_experiment(self, experiment_id: str) -> None:
        self._post(f"/experiments/{_seg(experiment_id)}/purge", None)

    # -- runs -----------------------------------------------------------------------------
    def create_run(
        self, *, experiment_id: str, name: str, start_time: datetime, context: RunContext,
        parent_id: str | None = None, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Run:
        body = {"experiment_id": experiment_id, "name": name, "start_time": _iso(start_time),
                "context": jsonable(context), "parent_id": parent_id,
                "description": description, "tags": tags or {}}
        return load(Run, self._post("/runs", body, idempotent=False))

    def get_run(self, run_id: str) -> Run:
        return load(Run, self._get(f"/runs/{_seg(run_id)}"))

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        if not run_ids:
            return []
        return load(list[Run], self._post("/runs/batch-get", {"run_ids": list(run_ids)}))

    def update_run(
        self, run_id: str, *, status: RunStatus | object = UNSET,
        end_time: datetime | object | None = UNSET, name: str | object = UNSET,
        description: str | object = UNSET, error: str | object | None = UNSET,
    ) -> Run:
        body: dict[str, Any] = {}
        if status is not UNSET:
            body["status"] = RunStatus(status).value  # type: ignore[arg-type]
        if end_time is not UNSET:
            body["end_time"] = _iso(end_time)  # type: ignore[arg-type]
        for key, value in (("name", name), ("description", description), ("error", error)):
            if value is not UNSET:
                body[key] = value
        return load(Run, self.session.json("PATCH", f"{API}/runs/{_seg(run_id)}", json=body,
                                           idempotent=True))

    def heartbeat(self, run_ids: Sequence[str], at: datetime) -> None:
        if run_ids:
            self._post("/runs/heartbeat", {"run_ids": list(run_ids), "at": _iso(at)})

    def log_batch(
        self, run_id: str, *, metrics: Sequence[Metric] = (),
        params: dict[str, ParamValue] | None = None, tags: dict[str, str] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """One request. Every call carries a batch id (made up here when the caller gave
        none), so retrying after a lost answer never writes a point twice."""
        body = {"metrics": [metric_to_wire(m) for m in metrics], "params": params or {},
                "tags": tags or {}, "batch_id": batch_id or uuid.uuid4().hex}
        return bool(self._post(f"/runs/{_seg(run_id)}/log-batch", body)["written"])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.session.request("DELETE", f"{API}/runs/{_seg(run_id)}/tags/{quote(key)}")

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return load(list[Metric], self._get(f"/runs/{_seg(run_id)}/metric-history", key=key))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self._post(f"/runs/{_seg(run_id)}/inputs", {"datasets": jsonable(list(datasets))})

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        return load(list[DatasetInput], self._get(f"/runs/{_seg(run_id)}/inputs"))

    def record_artifact(self, run_id: str, info: ArtifactInfo) -> None:
        """A no-op: the server records an artifact (size and SHA-256 it computed itself)
        when it receives the upload, before `put` returns, so the record the tracking
        service asks for next already exists. Sending it again would only cost a request."""

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        return load(list[ArtifactInfo],
                    self._get(f"/runs/{_seg(run_id)}/artifacts", prefix=prefix or None))

    def search_runs(
        self, experiment_ids: Sequence[str], *, filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (), max_results: int = 100, offset: int = 0,
        include_deleted: bool = False, deleted_only: bool = False,
    ) -> list[Run]:
        """The AST goes over the wire as filter text (`render`); large requests are paged."""
        body: dict[str, Any] = {
            "experiment_ids": list(experiment_ids) or None, "filter": render(filter),
            "order_by": render_order(order_by), "include_deleted": include_deleted,
            "deleted_only": deleted_only,
        }
        out: list[Run] = []
        while len(out) < max_results:
            want = min(PAGE, max_results - len(out))
            page = self._post("/runs/search", {**body, "max_results": want,
                                               "offset": offset + len(out)})
            runs: list[Run] = load(list[Run], page["runs"])
            out.extend(runs)
            if len(runs) < want:
                break
        return out

    def set_runs_deleted(self, run_ids: Sequence[str], *, deleted: bool, at: datetime) -> None:
        self._post("/runs/delete" if deleted else "/runs/restore", {"run_ids": list(run_ids)})

    def list_deleted_runs(self, *, deleted_before: datetime | None = None) -> list[Run]:
        return load(list[Run], self._get("/runs/deleted", deleted_before=_iso(deleted_before)))

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self._post("/runs/purge", {"run_ids": list(run_ids)})

    def find_stale_runs(self, *, heartbeat_before: datetime) -> list[Run]:
        return load(list[Run], self._get("/runs/stale", heartbeat_before=_iso(heartbeat_before)))

    def list_run_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """One ``GET /experiments/{id}/keys`` per experiment, merged; unknown ids add
        nothing (as in the port)."""
        keys: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
        for exp in dict.fromkeys(experiment_ids):
            try:
                found = self._get(f"/experiments/{_seg(exp)}/keys")
            except ExperimentNotFoundError:
                continue
            for kind, names in found.items():
                keys.setdefault(kind, set()).update(names)
        return {kind: sorted(names) for kind, names in keys.items()}


# -- artifacts ----------------------------------------------------------------------------
class _ResponseReader(io.RawIOBase):
    """A streamed HTTP body as a readable binary file (closing it closes the response)."""

    def __init__(self, response: httpx.Response, closer: contextlib.ExitStack) -> None:
        super().__init__()
        self._chunks = response.iter_raw(CHUNK)
        self._closer = closer
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._left:
            self._left = next(self._chunks, b"")
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._closer.close()
        super().close()


class RemoteArtifactStore(ArtifactStore):
    """`ArtifactStore` over the run artifact routes; the server proxies to its own store."""

    backend_name = "remote"

    def __init__(self, session: RemoteSession) -> None:
        self.session = session

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> RemoteArtifactStore:
        return cls(shared_session(uri, settings))

    def close(self) -> None:
        """Close the connection pool (shared with the metadata store of the same client)."""
        _forget(self.session)
        self.session.close()

    def after_fork(self) -> None:
        self.session.after_fork()

    @staticmethod
    def _split(key: str) -> tuple[str, str, str]:
        parts = key.split("/", 2)
        if len(parts) < 3 or not all(parts[:2]):
            msg = (f"Remote artifact keys look like '<experiment_id>/<run_id>/<path>'. "
                   f"Got {key!r}.")
            raise InvalidArgumentError(msg)
        return parts[0], parts[1], parts[2]

    def _url(self, key: str) -> str:
        _, run_id, path = self._split(key)
        return f"{API}/runs/{_seg(run_id)}/artifacts/{quote(path)}"

    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = True) -> int:
        if not overwrite and self.exists(key):
            msg = f"Artifact {key!r} already exists on the server."
            raise ArtifactAlreadyExistsError(msg, hint="pass overwrite=True to replace it")

        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(CHUNK):
                yield chunk

        response = self.session.upload("PUT", self._url(key), chunks(),
                                       headers={"Content-Type": "application/octet-stream"})
        return int(response.json()["size"])

    def open(self, key: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        if start < 0 or (end is not None and end < start):
            what, expected = "start/end", "0 <= start <= end (end may be None)"
            raise invalid(what, (start, end), expected, where="RemoteArtifactStore.open")
        if end is not None and end == start:
            self.size(key)
            return io.BytesIO()
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        stack = contextlib.ExitStack()
        try:
            response = stack.enter_context(self.session.stream("GET", self._url(key),
                                                               headers=headers))
        except RangeNotSatisfiableError:
            stack.close()
            return io.BytesIO()  # a range past the end is empty, as with files
        except BaseException:
            stack.close()
            raise
        return io.BufferedReader(_ResponseReader(response, stack), CHUNK)  # type: ignore[return-value]

    def _head(self, key: str) -> httpx.Response | None:
        try:
            return self.session.request("HEAD", self._url(key))
        except NotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            msg = f"Artifact {key!r} does not exist on the server."
            raise ArtifactNotFoundError(msg)
        return int(head.headers["content-length"])

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``; a prefix that names no single run walks the runs it covers."""
        parts = prefix.split("/", 2)
        if len(parts) == 3:
            exp_id, run_id, rest = parts
            found = self.session.json("GET", f"{API}/runs/{_seg(run_id)}/artifacts",
                                      params={"prefix": rest or None})
            for item in found:
                yield f"{exp_id}/{run_id}/{item['path']}"
            return
        exps = self.session.json("GET", f"{API}/experiments", params={"include_deleted": True})
        for exp in exps:
            if not (exp["id"] + "/").startswith(parts[0]) and not exp["id"].startswith(
                    parts[0]):
                continue
            body = {"experiment_ids": [exp["id"]], "include_deleted": True, "max_results": PAGE}
            offset = 0
            while True:
                page = self.session.json("POST", f"{API}/runs/search", idempotent=True,
                                         json={**body, "offset": offset})
                for run in page["runs"]:
                    base = f"{exp['id']}/{run['id']}/"
                    if base.startswith(prefix) or prefix.startswith(base):
                        yield from (k for k in self.list(base) if k.startswith(prefix))
                if len(page["runs"]) < PAGE:
                    break
                offset += PAGE

    def delete(self, key: str) -> None:
        """Only a deleted run's artifacts can be removed (``gc`` does it)."""
        self.session.request("DELETE", self._url(key))

    def delete_prefix(self, prefix: str) -> int:
        parts = prefix.split("/", 2)
        if len(parts) == 3 and all(parts[:2]):
            _, run_id, rest = parts
            found = self.session.json("DELETE", f"{API}/runs/{_seg(run_id)}/artifacts",
                                      params={"prefix": rest or None})
            return int(found["deleted"])
        return super().delete_prefix(prefix)

    def uri(self, key: str) -> str:
        return self.session.base_url + self._url(key)

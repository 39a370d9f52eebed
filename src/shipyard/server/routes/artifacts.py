"""``/api/v1/runs/{run_id}/artifacts``: list, streamed upload, ranged download, delete.

The server proxies to its own artifact store (local folder or S3), so clients need no cloud
credentials. Uploads and downloads stream in bounded memory (see ``_streaming``).
"""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from shipyard.artifacts import validate_artifact_path
from shipyard.entities.identity import Role
from shipyard.entities.tracking import ArtifactInfo
from shipyard.errors import InvalidArgumentError, RangeNotSatisfiableError
from shipyard.server._streaming import consume_upload, iter_file, parse_range
from shipyard.server.deps import Caller, State, Tracking, audit, require_run
from shipyard.server.errors import error_response
from shipyard.server.routes._common import api_router, respond
from shipyard.server.schemas import Deleted

router = api_router("artifacts")
PrefixQuery = Annotated[str, Query(max_length=1024, description="Only paths starting with this.")]
RangeHeader = Annotated[str | None, Header(max_length=200, description="bytes=START-END")]
_BINARY: dict[str, Any] = {"application/octet-stream": {"schema": {"type": "string",
                                                                    "format": "binary"}}}


@router.get("/runs/{run_id}/artifacts", response_model=list[ArtifactInfo])
def list_artifacts(run_id: str, policy: Caller, tracking: Tracking, st: State,
                   prefix: PrefixQuery = "") -> Response:
    """Artifact records (path, size, SHA-256) of a run, sorted by path."""
    require_run(st, policy, run_id)
    return respond(tracking.list_artifacts(run_id, prefix))


@router.delete("/runs/{run_id}/artifacts", response_model=Deleted)
def delete_artifacts(run_id: str, policy: Caller, tracking: Tracking, st: State,
                     prefix: PrefixQuery = "") -> Response:
    """Remove a deleted run's stored artifacts (all, or under ``prefix``) (admin; gc)."""
    policy.require_role(Role.ADMIN, "delete artifacts")
    deleted = tracking.delete_artifacts(run_id, prefix)
    audit(st, policy, "artifact.delete", "run", run_id, prefix=prefix, deleted=deleted)
    return respond({"deleted": deleted})


def _prepare_upload(tracking: Tracking, st: State, policy: Caller, run_id: str,
                    path: str) -> None:
    """Everything that can fail before the body is read, so the client gets the error
    instead of a connection closed mid-upload."""
    validate_artifact_path(path)
    run = tracking.get_run(run_id)
    if run.lifecycle == "deleted":
        msg = f"Run {run_id!r} is deleted; nothing can be logged to it."
        raise InvalidArgumentError(msg)
    require_run(st, policy, run_id, write=True)


@router.put("/runs/{run_id}/artifacts/{path:path}", response_model=ArtifactInfo,
            status_code=201, openapi_extra={"requestBody": {"required": True,
                                                            "content": _BINARY}})
async def upload_artifact(run_id: str, path: str, request: Request, policy: Caller,
                          tracking: Tracking, st: State) -> Response:
    """Stream the body into the run's artifact ``path`` (replacing it); the server records
    its size and SHA-256. Memory stays bounded whatever the size."""
    policy.require_role(Role.EDITOR, "upload artifacts")
    await run_in_threadpool(_prepare_upload, tracking, st, policy, run_id, path)
    info = await consume_upload(request.stream(),
                                lambda body: tracking.log_stream(run_id, body, path))
    await run_in_threadpool(audit, st, policy, "artifact.upload", "run", run_id,
                            path=info.path, size=info.size)
    return respond(info, 201)


def _headers(info: ArtifactInfo) -> dict[str, str]:
    return {"Accept-Ranges": "bytes", "ETag": f'"{info.sha256}"',
            "Content-Length": str(info.size)}


def _media_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


@router.get("/runs/{run_id}/artifacts/{path:path}", response_class=Response,
            responses={200: {"content": _BINARY, "description": "The artifact's bytes"},
                       206: {"content": _BINARY, "description": "The requested byte range"},
                       416: {"description": "The range is outside the artifact"}})
def download_artifact(run_id: str, path: str, policy: Caller, tracking: Tracking, st: State,
                      range: RangeHeader = None) -> Response:
    """Stream an artifact back; ``Range: bytes=START-END`` gives 206 with that window."""
    require_run(st, policy, run_id)
    info = tracking.stat_artifact(run_id, path)
    headers = _headers(info)
    try:
        window = parse_range(range, info.size)
    except RangeNotSatisfiableError as exc:
        response = error_response(exc)
        response.headers["Content-Range"] = f"bytes */{info.size}"
        return response
    start, end = window or (0, info.size)
    stream = tracking.open_artifact(run_id, path, start=start, end=end)
    status = 200
    if window is not None:
        status = 206
        headers["Content-Length"] = str(end - start)
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return StreamingResponse(iter_file(stream), status_code=status, headers=headers,
                             media_type=_media_type(info.path),
                             background=BackgroundTask(stream.close))


@router.head("/runs/{run_id}/artifacts/{path:path}", response_class=Response,
             responses={200: {"description": "Size (Content-Length) and ETag (SHA-256)"}})
def head_artifact(run_id: str, path: str, policy: Caller, tracking: Tracking,
                  st: State) -> Response:
    """Size, SHA-256 (ETag) and type of an artifact, without its bytes."""
    require_run(st, policy, run_id)
    info = tracking.stat_artifact(run_id, path)
    return Response(status_code=200, headers=_headers(info), media_type=_media_type(info.path))


@router.delete("/runs/{run_id}/artifacts/{path:path}", response_model=Deleted)
def delete_artifact(run_id: str, path: str, policy: Caller, tracking: Tracking,
                    st: State) -> Response:
    """Remove one stored artifact of a deleted run (admin; gc)."""
    policy.require_role(Role.ADMIN, "delete artifacts")
    deleted = tracking.delete_artifacts(run_id, path, exact=True)
    audit(st, policy, "artifact.delete", "run", run_id, path=path, deleted=deleted)
    return respond({"deleted": deleted})

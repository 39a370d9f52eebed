"""``shipyard server``: run the REST API (uvicorn) for a team.

The web stack is imported inside the command, so ``shipyard --help`` never loads it and a
missing extra becomes an install hint.
"""

from __future__ import annotations

import os
import re
from typing import TypedDict

import click


class _UvicornOptions(TypedDict):
    """The ``uvicorn.run`` keywords shared by the one-process and the multi-worker paths."""

    host: str
    port: int
    log_level: str
    root_path: str
    forwarded_allow_ips: str | None
    timeout_graceful_shutdown: int


@click.command("server")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes (each builds its own client from the settings).")
@click.option("--auth/--no-auth", default=None,
              help="Require users and API tokens (default: the auth setting, SHIPYARD_AUTH).")
@click.option("--root-path", default="", help="Path prefix when a proxy serves it under one.")
@click.option("--forwarded-allow-ips", default=None,
              help="Proxies whose X-Forwarded-* headers are trusted (comma-separated IPs).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def server(host: str, port: int, workers: int, auth: bool | None, root_path: str,
           forwarded_allow_ips: str | None, log_level: str) -> None:
    """Serve the Shipyard API (/api/v1), /health, /ready and /metrics.

    Uses the local settings: SHIPYARD_METADATA_URI (e.g. PostgreSQL) and SHIPYARD_ARTIFACT_URI
    (e.g. s3://bucket/prefix). Clients point SHIPYARD_TRACKING_URI at http://HOST:PORT.
    """
    try:
        import uvicorn

        from shipyard.server.app import create_app
    except ImportError as exc:
        from shipyard.errors import MissingDependencyError

        msg = f"`shipyard server` needs {exc.name!r}, which is not installed."
        raise MissingDependencyError(msg, hint="pip install 'shipyard[server]'") from exc
    from shipyard.client import Client

    options: _UvicornOptions = {
        "host": host, "port": port, "log_level": log_level, "root_path": root_path,
        "forwarded_allow_ips": forwarded_allow_ips, "timeout_graceful_shutdown": 10}
    client = Client()  # fails fast on bad settings, and migrates an empty database once
    enabled = client.settings.auth if auth is None else auth
    click.echo(f"Shipyard server on http://{host}:{port} ({workers} worker(s), auth "
               f"{'on' if enabled else 'off'})\n  metadata:  "
               f"{_hide_password(client.settings.resolved_metadata_uri())}\n  artifacts: "
               f"{client.settings.resolved_artifact_uri()}", err=True)
    if workers == 1:
        uvicorn.run(create_app(client, auth=enabled), **options)
        client.close()
        return
    client.close()
    os.environ["SHIPYARD_AUTH"] = "true" if enabled else "false"  # read by every worker
    uvicorn.run("shipyard.server.app:app_from_settings", factory=True, workers=workers,
                **options)


def _hide_password(uri: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", uri)


COMMANDS = [server]

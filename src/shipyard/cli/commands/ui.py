"""``shipyard ui``: the web UI on this machine's embedded store, one command.

It is ``shipyard server`` with laptop defaults: loopback only, the local settings' store
(``./.shipyard`` unless configured), no sign-in unless auth is configured, and a free port
when the default one is taken. The web stack loads inside the command.
"""

from __future__ import annotations

import socket
import threading
import webbrowser

import click

DEFAULT_PORT = 5000


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@click.command("ui")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help=f"TCP port (default {DEFAULT_PORT}, or a free one when it is taken).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; keep the loopback default on a laptop.")
@click.option("--open/--no-open", "open_browser", default=False,
              help="Open the UI in the default web browser.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def ui(port: int | None, host: str, open_browser: bool, log_level: str) -> None:
    """Browse runs, models, deployments and monitors in a web browser.

    Serves the UI (and the /api/v1 API) over the local store, e.g. ./.shipyard, and prints
    its URL. Stop it with Ctrl+C. For a team server use `shipyard server`.
    """
    try:
        import uvicorn

        from shipyard.server.app import create_app
    except ImportError as exc:
        from shipyard.errors import MissingDependencyError

        msg = f"`shipyard ui` needs {exc.name!r}, which is not installed."
        raise MissingDependencyError(msg, hint="pip install 'shipyard[server]'") from exc
    from shipyard.client import Client
    from shipyard.errors import ConfigError

    client = Client()
    if client.settings.is_remote:
        client.close()
        msg = (f"This machine tracks to a server ({client.settings.tracking_uri}); its UI is "
               "served there.")
        raise ConfigError(msg, hint=f"open {client.settings.tracking_uri} in a browser, or "
                                    "unset SHIPYARD_TRACKING_URI to browse the local store")
    if port is None:
        port = DEFAULT_PORT if _port_free(host, DEFAULT_PORT) else _free_port(host)
    elif port == 0:
        port = _free_port(host)
    url = f"http://{host}:{port}"
    click.echo(f"Shipyard UI on {url}  (store: {client.settings.resolved_metadata_uri()}; "
               "Ctrl+C to stop)")
    if open_browser:  # once the server had a moment to start
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(create_app(client), host=host, port=port, log_level=log_level,
                    timeout_graceful_shutdown=5)
    finally:
        client.close()


COMMANDS = [ui]

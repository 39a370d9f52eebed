"""``shipyard serve`` (the model server), ``shipyard predict`` (batch scoring) and
``shipyard deployments`` (the model servers that are running).

The web stack, numpy, pyarrow and the model libraries are imported inside the commands, so
``shipyard --help`` never loads them and a missing extra becomes an install hint.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

import click

from shipyard.cli._output import json_option, print_json, print_table


def _settings(**overrides: Any) -> Any:
    from shipyard.config import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _missing(exc: ImportError, what: str) -> Exception:
    from shipyard.errors import MissingDependencyError

    msg = f"`shipyard {what}` needs {exc.name!r}, which is not installed."
    return MissingDependencyError(msg, hint="pip install 'shipyard[serving]'")


@click.command("serve")
@click.argument("models", nargs=-1)
@click.option("--host", default=None, help="Interface (default: serve_host, 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="TCP port (default: serve_port, 8080).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes, forked once the models are loaded (default: 1).")
@click.option("--max-batch-size", default=None, type=click.IntRange(1),
              help="Most rows merged into one model call (default: 64).")
@click.option("--max-latency-ms", default=None, type=click.FloatRange(0),
              help="Micro-batching latency budget in ms (default: 5; 0 = no merging).")
@click.option("--reload-interval", default=None, type=click.FloatRange(0),
              help="Seconds between checks of followed aliases (default: 10; 0 = off).")
@click.option("--log-predictions/--no-log-predictions", default=None,
              help="Log every prediction to Parquet in the artifact store (default: on).")
@click.option("--access-log/--no-access-log", default=None,
              help="One JSON line per request on stderr (default: on).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(models: tuple[str, ...], host: str | None, port: int | None, workers: int | None,
          max_batch_size: int | None, max_latency_ms: float | None,
          reload_interval: float | None, log_predictions: bool | None,
          access_log: bool | None, log_level: str) -> None:
    """Serve registered models over HTTP: MODELS are URIs such as models:/churn@champion,
    models:/fraud/4 or NAME=runs:/<run id>/model (default: the serve_models setting).

    Routes: POST /v1/models/NAME/predict (and predict_proba), GET /v1/models, the Open
    Inference Protocol under /v2, /health, /ready, /metrics, POST /v1/feedback and
    POST /admin/reload. See docs/serving.md.
    """
    import logging
    import os

    # A process of its own: Arrow's allocator (mimalloc) keeps the buffers of every
    # prediction-log file it wrote; the system allocator hands them back (malloc_trim after
    # each file), which keeps a loaded server ~40 MB smaller. Set before pyarrow loads.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    overrides: dict[str, object] = {
        "serve_host": host, "serve_port": port, "serve_workers": workers,
        "serve_max_batch_size": max_batch_size, "serve_max_latency_ms": max_latency_ms,
        "serve_reload_interval": reload_interval,
        "serve_log_predictions": log_predictions, "serve_access_log": access_log}
    if models:
        overrides["serve_models"] = list(models)
    settings = _settings(**overrides)
    if settings.serve_workers > 1:
        _metrics_folder()  # before prometheus_client is imported, just below
    try:
        import uvicorn

        from shipyard.server.serving import build_host, create_serving_app
    except ImportError as exc:
        raise _missing(exc, "serve") from exc
    from shipyard.client import Client
    from shipyard.serving import parse_targets

    logging.basicConfig(level=getattr(logging, log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    targets = list(settings.serve_models)
    parse_targets(targets)  # fails fast on a malformed URI or a duplicate name
    url = f"http://{settings.serve_host}:{settings.serve_port}"
    options = {"host": settings.serve_host, "port": settings.serve_port, "log_level": log_level,
               "access_log": False, "timeout_graceful_shutdown": 10, "lifespan": "on",
               "proxy_headers": False, "server_header": False}
    click.echo(f"Shipyard model server on {url} ({settings.serve_workers} worker(s)): "
               f"{', '.join(targets)}", err=True)
    if settings.serve_workers == 1:
        client = Client(settings)
        built, logger, metrics, agent = build_host(client, targets, url=url)
        for served in built.models.values():  # an unknown model or alias fails here, not later
            built.resolve(served)
        auth = client.auth if settings.auth else None
        app = create_serving_app(built, settings=settings, logger=logger, metrics=metrics,
                                 agent=agent, auth=auth, on_close=client.close,
                                 freeze_gc=True)
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    if not hasattr(os, "fork"):  # Windows: uvicorn spawns workers, each loading everything
        _export_for_workers(overrides, targets)
        uvicorn.run("shipyard.server.serving:app_from_settings", factory=True,
                    workers=settings.serve_workers, **options)  # type: ignore[arg-type]
        return
    # load once, then fork the workers: they share the loaded models (docs/serving.md)
    from shipyard.server.serving._prefork import serve_prefork

    raise SystemExit(serve_prefork(Client(settings), targets, workers=settings.serve_workers,
                                   url=url, options=options))


def _export_for_workers(overrides: dict[str, Any], targets: list[str]) -> None:
    """Spawned worker processes build everything from SHIPYARD_*: pass the flags on."""
    from shipyard.config import env_var

    for key, value in overrides.items():
        if value is None:
            continue
        os.environ[env_var(key)] = json.dumps(value) if isinstance(value, list) else (
            str(value).lower() if isinstance(value, bool) else str(value))
    os.environ[env_var("serve_models")] = json.dumps(targets)


def _metrics_folder() -> None:
    """Metrics summed over every worker: prometheus_client keeps each process's values in a
    file of this folder (named by pid, so forked workers each get their own) when the
    variable is set before it is first imported."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="shipyard-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        import atexit
        import shutil

        atexit.register(shutil.rmtree, folder, ignore_errors=True)


@click.command("predict")
@click.argument("model")
@click.option("--input", "input_path", required=True,
              help="A Parquet/CSV/Arrow file, a folder of them, or s3://bucket/prefix.")
@click.option("--output", "output_path", required=True,
              help="Where scores go (.parquet, .csv or .arrow; local or s3://).")
@click.option("--rejects", "rejects_path", default=None,
              help="Where rows that fail validation go, with the reason "
                   "(default: OUTPUT with .rejects before the extension).")
@click.option("--chunk-rows", default=None, type=click.IntRange(1),
              help="Rows per chunk (default: predict_chunk_rows, 100000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Scoring processes (default: predict_workers, 2).")
@click.option("--format", "input_format", default=None,
              type=click.Choice(["parquet", "csv", "ipc"]),
              help="Input format, when the file names do not tell.")
@click.option("--keep-inputs", is_flag=True,
              help="Copy the model's input columns into the output too.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar (default: when stderr is a terminal).")
@json_option
def predict(model: str, input_path: str, output_path: str, rejects_path: str | None,
            chunk_rows: int | None, workers: int | None, input_format: str | None,
            keep_inputs: bool, progress: bool | None, as_json: bool) -> None:
    """Score a large file with MODEL (models:/churn@champion, ...) in bounded memory.

    Rows that do not match the model's signature, or that the model refuses, go to the
    rejects file with their reason instead of failing the job.
    """
    settings = _settings(predict_chunk_rows=chunk_rows, predict_workers=workers)
    try:
        import pyarrow  # noqa: F401

        from shipyard.serving._batch import BatchScorer
    except ImportError as exc:
        raise _missing(exc, "predict") from exc
    from shipyard.client import Client

    show = sys.stderr.isatty() if progress is None else progress
    with Client(settings) as client:
        scorer = BatchScorer(client.models, settings)
        if show:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("rows"), TimeElapsedColumn())
            with Progress(*columns, transient=False) as bar:
                task = bar.add_task("rows", total=None)

                def report(done: int, total: int | None) -> None:
                    bar.update(task, completed=done, total=total)

                result = scorer.score(model, input=input_path, output=output_path,
                                      rejects=rejects_path, input_format=input_format,
                                      keep_inputs=keep_inputs, progress=report)
        else:
            result = scorer.score(model, input=input_path, output=output_path,
                                  rejects=rejects_path, input_format=input_format,
                                  keep_inputs=keep_inputs)
    if as_json:
        print_json({"rows": result.rows, "scored": result.scored, "rejected": result.rejected,
                    "chunks": result.chunks, "seconds": round(result.seconds, 3),
                    "rows_per_second": round(result.rows_per_second, 1),
                    "output": result.output, "rejects": result.rejects})
        return
    click.echo(f"Scored {result.scored} of {result.rows} rows in {result.seconds:.1f}s "
               f"({result.rows_per_second:,.0f} rows/s) -> {result.output}")
    if result.rejected:
        click.echo(f"Rejected {result.rejected} rows (with reasons) -> {result.rejects}")


@click.group("deployments")
def deployments() -> None:
    """Model servers (`shipyard serve`) that registered themselves."""


@deployments.command("list")
@click.option("--all", "include_stopped", is_flag=True, help="Include stopped servers.")
@json_option
def list_deployments(include_stopped: bool, as_json: bool) -> None:
    """List running model servers (live or stale) with what they serve."""
    from shipyard.cli._output import get_client
    from shipyard.entities._ids import utc_now

    with get_client() as client:
        service = client.serving
        items = service.list_deployments(include_stopped=include_stopped)
        now = utc_now()
        rows = [(d, "stopped" if d.stopped_at else (
            "live" if service.is_live(d, now) else "stale")) for d in items]
    if as_json:
        print_json([{"state": state, **_deployment_json(d)} for d, state in rows])
        return
    print_table("Deployments", ["id", "state", "url", "models", "pid", "started",
                                "heartbeat", "requests"],
                [[d.id[:12], state, d.url,
                  ", ".join(f"{m.name}:{m.version}" for m in d.models), d.pid, d.started_at,
                  f"{(time.time() - d.heartbeat_at.timestamp()):.0f}s ago",
                  d.stats.get("requests")] for d, state in rows])


def _deployment_json(d: Any) -> dict[str, Any]:
    from shipyard.cli._output import to_jsonable

    return dict(to_jsonable(d))


COMMANDS = [serve, predict, deployments]

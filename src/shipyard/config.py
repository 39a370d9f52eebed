"""Settings: resolved once at the edge (Client, create_app, CLI group) and passed down.

Precedence, highest first: explicit arguments > ``SHIPYARD_*`` environment variables >
``./shipyard.toml`` > ``~/.config/shipyard/config.toml`` > defaults. Nothing reads the
environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shipyard.errors import ConfigError

ENV_PREFIX = "SHIPYARD_"


class Settings(BaseSettings):
    """Every Shipyard setting. Each field's description is the documentation (see SETTINGS)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
        toml_file=["~/.config/shipyard/config.toml", "shipyard.toml"],
    )

    home: Path = Field(
        default=Path(".shipyard"),
        description="Folder for the embedded defaults (SQLite database, artifacts), relative to "
        "the working directory unless absolute.",
    )
    tracking_uri: str | None = Field(
        default=None,
        description="Where tracking data goes. An http(s):// URL selects client mode against a "
        "Shipyard server; anything else is a metadata database URL (same as metadata_uri).",
    )
    metadata_uri: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database: sqlite:///path (default "
        "<home>/shipyard.db) or postgresql+psycopg://user@host/db.",
    )
    artifact_uri: str | None = Field(
        default=None,
        description="Where artifact bytes go: file:///path (default <home>/artifacts) or "
        "s3://bucket/prefix.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible service (MinIO, SeaweedFS, ...). Credentials "
        "come from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables.",
    )
    s3_region: str = Field(default="us-east-1", description="Region name sent to S3.")
    default_experiment: str = Field(
        default="Default", description="Experiment used when a run names none."
    )
    metric_flush_interval: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between background flushes of buffered metric points.",
    )
    metric_batch_size: int = Field(
        default=10_000, ge=1, description="Most metric points written in one batch."
    )
    heartbeat_interval: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between heartbeats of a live run; a running run whose heartbeat is "
        "older than 6 intervals is considered dead and can be marked killed.",
    )
    system_metrics: bool = Field(
        default=False,
        description="Sample CPU, memory and GPU usage of every run in the background.",
    )
    system_metrics_interval: float = Field(
        default=10.0, gt=0, description="Seconds between system metric samples."
    )
    sqlite_busy_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a SQLite writer waits for the lock before giving up.",
    )
    http_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before a request to a Shipyard server times out."
    )
    http_retries: int = Field(
        default=8, ge=0, description="Retries of a failed request to a Shipyard server."
    )
    tracking_token: str | None = Field(
        default=None, description="API token sent to a Shipyard server (client mode)."
    )
    tracking_username: str | None = Field(
        default=None, description="User name for HTTP basic auth against a server."
    )
    tracking_password: str | None = Field(
        default=None, description="Password for HTTP basic auth against a server."
    )
    auth: bool = Field(
        default=False,
        description="Server only: require users and API tokens (`shipyard server --auth`). "
        "Off by default, for a laptop.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Server only: key that signs the web UI's session cookies (and their "
        "CSRF tokens). Unset: a random key is made once and kept in <home>/secret_key; set "
        "the same value on every host when several serve one UI behind a load balancer.",
    )
    session_max_age: float = Field(
        default=12 * 3600, gt=0,
        description="Server only: seconds a web UI sign-in lasts before the login page asks "
        "again.",
    )
    trust_pickle: bool | None = Field(
        default=None,
        description="Load pickle-based models (scikit-learn pickle, custom Python models, "
        "LightGBM wrappers, PyTorch pickle) without trust_pickle=True. Unset: trusted only "
        "from the embedded artifact store under <home>; anything on S3, another folder or a "
        "server needs the opt-in.",
    )
    webhook_urls: list[str] = Field(
        default_factory=list,
        description="URLs that receive a JSON POST on registry events (version created, "
        "alias moved, ...). From the environment as JSON: '[\"https://ci/hook\"]'.",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 signature sent in the X-Shipyard-Signature "
        "header of every webhook (sha256=<hex> of the body).",
    )
    webhook_retries: int = Field(
        default=3, ge=0, description="Retries of a webhook that failed (exponential back-off)."
    )
    webhook_timeout: float = Field(
        default=5.0, gt=0, description="Seconds before one webhook request times out."
    )
    webhook_backoff: float = Field(
        default=0.5, ge=0,
        description="Seconds before the first retry of a failed webhook or monitor alert; "
        "doubled on every further retry.",
    )

    # -- monitoring (`shipyard monitor`); see docs/monitoring.md ---------------------------
    monitoring_cooldown: float = Field(
        default=3600.0, ge=0,
        description="Default cool-down of a new monitor: seconds after an alert message "
        "during which the same rule firing again is recorded but not sent (stops flapping "
        "alerts).",
    )
    monitoring_label_horizon: float = Field(
        default=7 * 86400.0, ge=0,
        description="Seconds after a window ends during which `shipyard monitor run` "
        "recomputes the window's performance as late labels arrive.",
    )
    monitoring_public_url: str | None = Field(
        default=None,
        description="Base URL of the Shipyard server (UI and API) used in the links of alert "
        "messages; unset, the links name the CLI command instead.",
    )

    # -- model serving (`shipyard serve`, `shipyard predict`); see docs/serving.md ----------
    serve_models: list[str] = Field(
        default_factory=list,
        description="Model URIs `shipyard serve` serves when the command line names none "
        "(how a container picks them). From the environment as JSON: "
        "'[\"models:/churn@champion\"]'.",
    )
    serve_host: str = Field(default="127.0.0.1", description="Interface `shipyard serve` "
                            "listens on (0.0.0.0 in a container).")
    serve_port: int = Field(default=8080, ge=0, le=65535,
                            description="TCP port of `shipyard serve`.")
    serve_workers: int = Field(default=1, ge=1, le=64,
                               description="Worker processes of `shipyard serve`, forked "
                               "after the models are loaded (shared memory).")
    serve_max_batch_size: int = Field(
        default=64, ge=1,
        description="Most rows the model server merges from concurrent requests into one "
        "model call (a larger single request still runs whole).",
    )
    serve_max_latency_ms: float = Field(
        default=5.0, ge=0,
        description="Latency budget of micro-batching: merging queued requests never makes a "
        "model call more than this many milliseconds longer than the first request alone "
        "would take. Requests never wait for a batch to fill; 0 turns merging off.",
    )
    serve_max_queue_rows: int = Field(
        default=20_000, ge=1,
        description="Rows a served model may have waiting; beyond it requests get 429.",
    )
    serve_request_timeout: float = Field(
        default=30.0, gt=0,
        description="Seconds a model server request may take (reading the body, waiting and "
        "predicting); a slow body gets 408, a slow prediction 504.",
    )
    serve_max_body_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024,
        description="Largest request body the model server accepts (413 beyond it).",
    )
    serve_reload_interval: float = Field(
        default=10.0, ge=0,
        description="Seconds between checks of the aliases a model server follows "
        "(models:/churn@champion); a moved alias is loaded, warmed up and switched to "
        "atomically. 0 turns the checks off (POST /admin/reload still works).",
    )
    serve_log_predictions: bool = Field(
        default=True,
        description="Log every prediction (inputs, outputs, version, request id, latency) to "
        "Parquet files under predictions/ in the artifact store, off the request path.",
    )
    serve_log_queue_size: int = Field(
        default=100_000, ge=1,
        description="Requests the prediction logger may hold before it drops records (each "
        "drop is counted in shipyard_serving_prediction_log_dropped_total).",
    )
    serve_log_flush_interval: float = Field(
        default=30.0, gt=0,
        description="Seconds between Parquet files of the prediction logger (sooner when "
        "serve_log_flush_rows rows are waiting).",
    )
    serve_log_flush_rows: int = Field(
        default=10_000, ge=1,
        description="Rows that make the prediction logger write a file before the interval "
        "(bounds the memory the waiting rows take).",
    )
    serve_access_log: bool = Field(
        default=True, description="Write one JSON access-log line per request to stderr."
    )
    serve_heartbeat_interval: float = Field(
        default=15.0, gt=0,
        description="Seconds between a model server's heartbeats in the deployments table; "
        "a server silent for 3 intervals is listed as stale.",
    )
    serve_history_retention: float = Field(
        default=604_800.0, gt=0,
        description="Seconds of heartbeat history (requests, errors and latency percentiles "
        "per interval) kept for the deployments page's charts; older samples are dropped.",
    )
    predict_chunk_rows: int = Field(
        default=100_000, ge=1,
        description="Rows `shipyard predict` reads, validates and scores at a time (memory "
        "stays bounded by a few chunks whatever the input size).",
    )
    predict_workers: int = Field(
        default=2, ge=1, le=64,
        description="Processes `shipyard predict` scores chunks in (1: in-process).",
    )

    @field_validator("tracking_uri", "metadata_uri", "artifact_uri", mode="after")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # Derived values -------------------------------------------------------------------
    @property
    def home_path(self) -> Path:
        return self.home.expanduser().absolute()

    @property
    def is_remote(self) -> bool:
        return (self.tracking_uri or "").startswith(("http://", "https://"))

    def resolved_metadata_uri(self) -> str:
        if self.tracking_uri and not self.is_remote:
            return self.tracking_uri
        if self.metadata_uri:
            return self.metadata_uri
        return f"sqlite:///{self.home_path / 'shipyard.db'}"

    def resolved_artifact_uri(self) -> str:
        if self.artifact_uri:
            return self.artifact_uri
        return (self.home_path / "artifacts").as_uri()


def env_var(field: str) -> str:
    """The environment variable of a setting."""
    return f"{ENV_PREFIX}{field.upper()}"


SETTINGS: dict[str, str] = {
    name: (info.description or "") for name, info in Settings.model_fields.items()
}


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings once; a bad value raises `ConfigError` naming field and variable."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        msg = (
            f"Setting {field!r} ({env_var(field)}) is invalid: {err['msg']}. "
            f"Got {err.get('input')!r}."
        )
        raise ConfigError(msg, hint=f"fix {env_var(field)} or {field} in shipyard.toml") from exc

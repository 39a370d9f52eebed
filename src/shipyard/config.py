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

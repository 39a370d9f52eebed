"""The metadata schema, shared by SQLite and PostgreSQL (SQLAlchemy Core).

Times are epoch milliseconds (BigInteger): portable, compact and fast to compare. A metric
value of NaN is stored as NULL (SQLite cannot store NaN); +/-inf are stored as is.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

KEY_LEN = 250

experiments = Table(
    "experiments", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(KEY_LEN), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="{}"),
    Column("lifecycle", String(16), nullable=False, default="active"),
    Column("created_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger),
    Column("created_by", String(KEY_LEN)),
)

runs = Table(
    "runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", String(32), ForeignKey("experiments.id"), nullable=False),
    Column("name", String(KEY_LEN), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("user", String(KEY_LEN)),
    Column("source", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("python_version", String(32)),
    Column("packages", Text, nullable=False, default="{}"),
    Column("parent_id", String(32)),
    Column("description", Text, nullable=False, default=""),
    Column("error", Text),
    Column("lifecycle", String(16), nullable=False, default="active"),
    Column("deleted_at", BigInteger),
    Column("heartbeat_at", BigInteger),
    Column("created_by", String(KEY_LEN)),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_parent_id", "parent_id"),
)

params = Table(
    "params", metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),  # JSON of the typed value
    Column("str_value", Text),  # str() of the value, for string comparisons
    Column("num_value", Float),  # numeric value (int, float, bool) for numeric comparisons
    PrimaryKeyConstraint("run_id", "key"),
    Index("ix_params_key_num", "key", "num_value"),
)

tags = Table(
    "tags", metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
)

metrics = Table(
    "metrics", metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float),  # NULL means NaN
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics", metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("run_id", "key"),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

metric_batches = Table(
    "metric_batches", metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("run_id", String(32), nullable=False, index=True),
)

datasets = Table(
    "datasets", metadata,
    Column("run_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(KEY_LEN), nullable=False),
    Column("digest", String(128), nullable=False),
    Column("context", String(KEY_LEN), nullable=False, default=""),
    Column("source", Text),
    Column("schema", Text, nullable=False, default="{}"),
    Column("num_rows", BigInteger),
    PrimaryKeyConstraint("run_id", "name", "digest", "context"),
)

artifacts = Table(
    "artifacts", metadata,
    Column("run_id", String(32), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "path"),
)

# -- identity: users, API tokens, per-experiment permissions (server auth) ---------------
users = Table(
    "users", metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(KEY_LEN), nullable=False, unique=True),
    Column("password_hash", Text),  # scrypt; NULL for token-only users
    Column("role", String(16), nullable=False),  # viewer | editor | admin
    Column("created_at", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(KEY_LEN), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex, never the token
    Column("prefix", String(16), nullable=False),  # first characters, for display only
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
)

experiment_permissions = Table(
    "experiment_permissions", metadata,
    Column("experiment_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("permission", String(16), nullable=False),  # read | edit | manage
    PrimaryKeyConstraint("experiment_id", "user_id"),
)

# -- audit trail shared by every subsystem (registry alias moves, deletions, ...) -----------
audit_events = Table(
    "audit_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(KEY_LEN)),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(KEY_LEN), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),  # JSON: from, to, reason, outcome...
    Index("ix_audit_events_target", "target_type", "target_id", "at"),
)

# -- model registry -------------------------------------------------------------------------
registered_models = Table(
    "registered_models", metadata,
    Column("name", String(KEY_LEN), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="{}"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("created_by", String(KEY_LEN)),
)

model_versions = Table(
    "model_versions", metadata,
    Column("name", String(KEY_LEN), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", String(32)),
    Column("artifact_path", String(1024), nullable=False),  # the package folder in the run
    Column("flavor", String(64), nullable=False),
    Column("signature", Text, nullable=False, default="{}"),
    Column("metrics", Text, nullable=False, default="{}"),  # snapshot of the run's metrics
    Column("tags", Text, nullable=False, default="{}"),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="ready"),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(KEY_LEN)),
    Column("deleted_at", BigInteger),
    PrimaryKeyConstraint("name", "version"),
)

model_aliases = Table(
    "model_aliases", metadata,
    Column("name", String(KEY_LEN), nullable=False),
    Column("alias", String(KEY_LEN), nullable=False),
    Column("version", Integer, nullable=False),
    Column("revision", Integer, nullable=False, default=1),  # optimistic lock for moves
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(KEY_LEN)),
    PrimaryKeyConstraint("name", "alias"),
)

# -- serving: live model servers register themselves ------------------------------------------
deployments = Table(
    "deployments", metadata,
    Column("id", String(32), primary_key=True),
    Column("url", String(1024), nullable=False),
    Column("models", Text, nullable=False, default="[]"),  # JSON: [{name, version, uri}]
    Column("host", String(KEY_LEN)),
    Column("pid", Integer),
    Column("started_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),
    Column("stopped_at", BigInteger),
    Column("stats", Text, nullable=False, default="{}"),  # JSON: latest request/error/latency stats
)

# one row per heartbeat: requests, errors and latency percentiles of the interval it closes;
# pruned to the retention window (``serve_history_retention``) by the heartbeats themselves
deployment_samples = Table(
    "deployment_samples", metadata,
    Column("deployment_id", String(32), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("p50_ms", Float),
    Column("p95_ms", Float),
    Column("p99_ms", Float),
    PrimaryKeyConstraint("deployment_id", "at"),
    Index("ix_deployment_samples_at", "at"),
)

# -- monitoring: monitors, their results as time series, and alerts ---------------------------
monitors = Table(
    "monitors", metadata,
    Column("name", String(KEY_LEN), primary_key=True),
    Column("model_uri", String(1024), nullable=False),
    Column("window_seconds", Integer, nullable=False),
    Column("rules", Text, nullable=False, default="[]"),  # JSON list of rule strings
    Column("webhooks", Text, nullable=False, default="[]"),  # JSON list of URLs
    Column("config", Text, nullable=False, default="{}"),  # JSON: thresholds, columns, cool-down
    Column("enabled", Boolean, nullable=False, default=True),
    Column("last_window_end", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(KEY_LEN)),
)

monitor_results = Table(
    "monitor_results", metadata,
    Column("monitor", String(KEY_LEN), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("computed_at", BigInteger, nullable=False),
    Column("summary", Text, nullable=False, default="{}"),  # JSON: the whole window's result
    PrimaryKeyConstraint("monitor", "window_start"),
)

monitor_values = Table(
    "monitor_values", metadata,
    Column("monitor", String(KEY_LEN), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("key", String(KEY_LEN), nullable=False),  # e.g. drift_share, auc, drift.age.psi
    Column("value", Float),
    PrimaryKeyConstraint("monitor", "key", "window_start"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor", String(KEY_LEN), nullable=False),
    Column("rule", Text, nullable=False),
    Column("state", String(16), nullable=False),  # firing | resolved
    Column("value", Float),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("fired_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger),
    Column("last_notified_at", BigInteger),
    Column("notifications", Integer, nullable=False, default=0),
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_alerts_monitor_state", "monitor", "state"),
)

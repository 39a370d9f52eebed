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

"""Wire models: request bodies, and responses whose shape differs from the entity (R-3).

Responses are the entities themselves, serialized by ``shipyard._internal.wire``; the models
here describe them in the OpenAPI document where the entity's own schema would be wrong
(floats that may be ``"NaN"``/``"Infinity"``) and validate every request body, with the
bounds the database needs, so bad input is a 422, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NotRequired

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from typing_extensions import TypedDict

from shipyard.entities.identity import Permission, Role
from shipyard.entities.tracking import Lifecycle, RunStatus

INT64 = 2**63 - 1
Int64 = Annotated[int, Field(ge=-INT64 - 1, le=INT64)]
WireFloat = Annotated[float, WithJsonSchema({
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}],
    "description": "a number; NaN and +/-infinity travel as strings",
})]
ParamIn = str | Int64 | float | bool | None
Name = Annotated[str, Field(max_length=250)]
Id = Annotated[str, Field(max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str = Field(description="Stable kebab-case code of the ShipyardError class.")
    message: str
    hint: str | None = Field(default=None, description="What to do next.")


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code", "message", "hint"}}``."""

    error: ErrorDetail


# -- experiments ----------------------------------------------------------------------------
class ExperimentCreate(_Body):
    name: Name
    description: str = ""
    tags: dict[Name, str] = Field(default_factory=dict)


# -- runs -----------------------------------------------------------------------------------
class RunContextIn(_Body):
    user: Name | None = None
    source: str | None = None
    git_commit: Annotated[str, Field(max_length=64)] | None = None
    git_dirty: bool | None = None
    python_version: Annotated[str, Field(max_length=32)] | None = None
    packages: dict[Name, Name] = Field(default_factory=dict)


class RunCreate(_Body):
    """``experiment_id`` names an existing experiment; ``experiment`` (a name) is created
    when missing. Neither: the server's default experiment."""

    experiment_id: Id | None = None
    experiment: Name | None = None
    name: Name | None = None
    start_time: AwareDatetime | None = None
    context: RunContextIn | None = None
    parent_id: Id | None = None
    description: str = ""
    tags: dict[Name, str] = Field(default_factory=dict)


class RunUpdate(_Body):
    """Only the fields present change (``end_time: null`` clears it)."""

    name: Name | None = None
    description: str | None = None
    status: RunStatus | None = None
    end_time: AwareDatetime | None = None
    error: str | None = None


class MetricIn(TypedDict):
    """One point. A TypedDict, not a model: a batch holds thousands and validating plain
    dicts costs a third as much."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    key: Name
    value: WireFloat
    step: NotRequired[Int64]
    timestamp: Annotated[Int64 | AwareDatetime, Field(
        description="Epoch milliseconds, or an ISO-8601 time with a zone.")]


class LogBatch(_Body):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: dict[Name, ParamIn] = Field(default_factory=dict)
    tags: dict[Name, str] = Field(default_factory=dict)
    batch_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Idempotency key: a batch sent twice is written once.")

    @field_validator("params", mode="before")
    @classmethod
    def _int64_params(cls, value: Any) -> Any:
        """An integer param must fit 64 bits (it would silently become a float otherwise)."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, int) and not isinstance(item, bool) and not (
                        -INT64 - 1 <= item <= INT64):
                    msg = f"param {key!r} is an integer outside the 64-bit range"
                    raise ValueError(msg)
        return value


class LogBatchResult(BaseModel):
    written: bool = Field(description="False when this batch_id was already written.")


class RunIds(_Body):
    run_ids: list[Id]


class Heartbeat(_Body):
    run_ids: list[Id]
    at: AwareDatetime | None = None


class DatasetIn(_Body):
    name: Name
    digest: Annotated[str, Field(max_length=128)]
    source: str | None = None
    schema_: dict[str, str] = Field(default_factory=dict, alias="schema")
    num_rows: Int64 | None = None
    context: Name | None = None


class Datasets(_Body):
    datasets: list[DatasetIn]


class SearchRuns(_Body):
    experiment_ids: list[Annotated[str, Field(max_length=250)]] | None = Field(
        default=None, description="Experiment ids or names; null searches every experiment.")
    filter: Annotated[str, Field(max_length=10_000)] = Field(
        default="", description="e.g. metrics.auc > 0.8 and params.model = 'rf'")
    order_by: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list)
    max_results: Annotated[int, Field(ge=1, le=50_000)] = 100
    page_token: Annotated[str, Field(max_length=1000)] | None = None
    offset: Annotated[int, Field(ge=0, le=2**53)] | None = Field(
        default=None, description="A position, instead of page_token.")
    include_deleted: bool = False
    deleted_only: bool = False


class Gc(_Body):
    older_than_seconds: Annotated[float, Field(ge=0, le=1e10)] | None = None


# -- responses whose entity schema would be wrong -----------------------------------------
class RunContextOut(BaseModel):
    user: str | None = None
    source: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    python_version: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)


class RunOut(BaseModel):
    """A `shipyard.Run`."""

    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None = None
    context: RunContextOut
    parent_id: str | None = None
    description: str = ""
    error: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    metrics: dict[str, WireFloat] = Field(default_factory=dict)
    lifecycle: Lifecycle
    deleted_at: datetime | None = None
    heartbeat_at: datetime | None = None
    created_by: str | None = None


class MetricOut(BaseModel):
    """A `shipyard.Metric` point."""

    key: str
    value: WireFloat
    step: int
    timestamp: datetime


class RunPage(BaseModel):
    runs: list[RunOut]
    next_page_token: str | None = None


class Deleted(BaseModel):
    deleted: int


class Purged(BaseModel):
    purged_runs: list[str]


# -- identity -------------------------------------------------------------------------------
class UserCreate(_Body):
    username: Name
    role: Role = Role.VIEWER
    password: Annotated[str, Field(max_length=1000)] | None = None


class UserUpdate(_Body):
    role: Role | None = None
    password: Annotated[str, Field(max_length=1000)] | None = None
    disabled: bool | None = None


class TokenCreate(_Body):
    name: Name
    username: Name | None = Field(default=None,
                                  description="Whose token (admins only); default: yours.")
    expires_in_days: Annotated[float, Field(gt=0, le=36_500)] | None = None


class TokenCreated(BaseModel):
    token: str = Field(description="The secret: shown only in this response.")
    record: dict[str, Any]


class PermissionIn(_Body):
    permission: Permission


class Health(BaseModel):
    status: str


class WhoAmI(BaseModel):
    auth: bool = Field(description="Whether this server requires credentials.")
    username: str | None = None
    role: Role | None = None

"""The parsed form of a run search filter and order-by clauses (see shipyard.tracking.search).

Stores translate these nodes to their own query language; the parser builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Entity = Literal["metric", "param", "tag", "attribute"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "like", "ilike", "not like", "in", "not in",
                   "is null", "is not null"]
Literal_ = str | int | float | bool | None

ATTRIBUTES = ("id", "name", "status", "start_time", "end_time", "user", "experiment_id",
              "parent_id", "source", "git_commit", "duration")


@dataclass(frozen=True, slots=True)
class Field:
    """What a comparison reads: ``metrics.acc`` -> Field("metric", "acc")."""

    entity: Entity
    key: str


@dataclass(frozen=True, slots=True)
class Comparison:
    field: Field
    op: Operator
    value: Literal_ | tuple[Literal_, ...] = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Comparison | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderBy:
    field: Field
    descending: bool = False

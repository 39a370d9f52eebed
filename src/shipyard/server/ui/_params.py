"""Reading query-string values leniently: a page never answers 422 to a hand-edited URL; a bad
value falls back to its default."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.requests import Request

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-./]+$")
ENTITY_PREFIXES = {"metrics": "metrics", "params": "params", "tags": "tags"}


def qint(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return min(max(value, lo), hi)


def qstr(request: Request, name: str, default: str = "", max_len: int = 10_000) -> str:
    return request.query_params.get(name, default)[:max_len]


def qlist(request: Request, name: str, *, limit: int = 500) -> list[str]:
    """Values given as ``?x=a&x=b`` and/or ``?x=a,b`` (keys never contain commas), in order,
    without duplicates."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(p.strip() for p in raw.split(",") if p.strip())
    return list(dict.fromkeys(out))[:limit]


def field_ref(entity: str, key: str) -> str:
    """``metrics.auc``, or ``metrics.`a b``` for keys the search language must quote."""
    return f"{entity}.{key}" if _PLAIN_KEY.match(key) else f"{entity}.`{key}`"


def split_column(column: str) -> tuple[str, str] | None:
    """``("metrics", "auc")`` from ``metrics.auc``; None when it names no known entity."""
    entity, sep, key = column.partition(".")
    if not sep or entity not in ENTITY_PREFIXES or not key:
        return None
    return entity, key


def sorted_keys(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys), key=lambda k: (k.lower(), k))

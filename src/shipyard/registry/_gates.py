"""Promotion gates: small rules such as ``metrics.auc >= champion.metrics.auc + 0.005``.

Rules are parsed with Python's ``ast`` module and walked by a tiny interpreter that allows only
names and attributes (``metrics.auc``, ``champion.metrics.auc``, ``params.depth``,
``tags.stage``, ``metrics["val/auc"]``), numbers and strings, ``+ - * /``, comparisons and
``and``/``or``/``not``. Nothing is ever passed to ``eval``.

Names: ``metrics``, ``params``, ``tags`` and ``version`` belong to the candidate (the version
being promoted; also reachable as ``candidate.*``); ``<alias>.*`` is the version an alias of
the model points at now, e.g. ``champion.metrics.auc``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidRuleError

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMPOPS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge), ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne),
}
MAX_RULE_LENGTH = 500


class MissingValue(Exception):
    """A name the rule reads has no value (metric not logged, alias not set)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path, self.why = path, why


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleResult:
    """The outcome of one rule: the values of its two sides and whether it held.

    ``skipped`` is set when the rule reads the target alias and the alias points nowhere yet
    (the first promotion), which counts as a pass."""

    rule: str
    passed: bool
    left: Any = None
    right: Any = None
    op: str | None = None
    detail: str = ""
    skipped: bool = False


def _path(node: ast.expr, rule: str) -> tuple[str, ...]:
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        return (*_path(node.value, rule), node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(
            node.slice.value, str):
        return (*_path(node.value, rule), node.slice.value)
    raise _unsupported(node, rule)


def _unsupported(node: ast.AST, rule: str) -> InvalidRuleError:
    snippet = ast.get_source_segment(rule, node) or type(node).__name__
    msg = (f"Promotion rule {rule!r} uses {snippet!r}, which rules do not allow; they may use "
           "names like metrics.auc or champion.metrics.auc, numbers, + - * /, comparisons "
           "and and/or/not.")
    return InvalidRuleError(msg)


def parse_rule(rule: str) -> ast.Expression:
    """Parse and check a rule (raises `InvalidRuleError` with the offending part)."""
    if not isinstance(rule, str) or not rule.strip() or len(rule) > MAX_RULE_LENGTH:
        msg = (f"A promotion rule must be a non-empty string of at most {MAX_RULE_LENGTH} "
               f"characters. Got {rule!r}.")
        raise InvalidRuleError(msg)
    try:
        tree = ast.parse(rule.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"Promotion rule {rule!r} does not parse: {exc.msg} (at column {exc.offset})."
        raise InvalidRuleError(msg) from None
    for node in ast.walk(tree):
        ok = isinstance(node, ast.Expression | ast.Compare | ast.BoolOp | ast.And | ast.Or
                        | ast.UnaryOp | ast.Not | ast.USub | ast.UAdd | ast.BinOp | ast.Load
                        | ast.Name | ast.Attribute | ast.Subscript)
        ok = ok or isinstance(node, (*_BINOPS, *_CMPOPS))
        if isinstance(node, ast.Constant):
            ok = isinstance(node.value, int | float | str) and not isinstance(node.value, bool)
        if not ok:
            raise _unsupported(node, rule)
        if isinstance(node, ast.Attribute | ast.Subscript | ast.Name):
            parts = _path(node, rule)  # subscripts only with a string key
            if any(p.startswith("_") for p in parts if isinstance(node, ast.Name | ast.Attribute)):
                raise _unsupported(node, rule)
    return tree


Resolver = Callable[[tuple[str, ...]], Any]


def _eval(node: ast.expr, resolve: Resolver, rule: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        return resolve(_path(node, rule))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, resolve, rule), _eval(node.right, resolve, rule)
        try:
            return _BINOPS[type(node.op)](left, right)
        except (TypeError, ZeroDivisionError) as exc:
            raise MissingValue(ast.get_source_segment(rule, node) or "?", str(exc)) from None
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, resolve, rule)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, resolve, rule) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, resolve, rule)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, resolve, rule)
            try:
                if not _CMPOPS[type(op)][1](left, right):
                    return False
            except TypeError as exc:
                raise MissingValue(ast.get_source_segment(rule, node) or "?", str(exc)) from None
            left = right
        return True
    raise _unsupported(node, rule)  # pragma: no cover - parse_rule rejects it first


def evaluate_rule(rule: str, resolve: Resolver) -> RuleResult:
    """Evaluate one rule; a missing value makes it fail with the reason in ``detail``."""
    body = parse_rule(rule).body
    left = right = op = None
    try:
        if isinstance(body, ast.Compare) and len(body.ops) == 1:
            left = _eval(body.left, resolve, rule)
            right = _eval(body.comparators[0], resolve, rule)
            op = _CMPOPS[type(body.ops[0])][0]
            try:
                passed = bool(_CMPOPS[type(body.ops[0])][1](left, right))
            except TypeError as exc:
                return RuleResult(rule=rule, passed=False, left=left, right=right, op=op,
                                  detail=f"cannot compare: {exc}")
        else:
            passed = bool(_eval(body, resolve, rule))
    except MissingValue as exc:
        return RuleResult(rule=rule, passed=False, left=left, right=right, op=op,
                          detail=f"{exc.path} {exc.why}")
    return RuleResult(rule=rule, passed=passed, left=left, right=right, op=op)


def names_in(rule: str) -> set[str]:
    """The root names a rule reads (``champion`` for ``champion.metrics.auc``)."""
    return {n.id for n in ast.walk(parse_rule(rule)) if isinstance(n, ast.Name)}


def version_view(version: int, metrics: Mapping[str, float], params: Mapping[str, Any],
                 tags: Mapping[str, str]) -> dict[str, Any]:
    """What rules can read of one version."""
    return {"version": version, "metrics": dict(metrics), "params": dict(params),
            "tags": dict(tags)}

"""Monitor rules such as ``drift_share > 0.3``, ``auc < 0.80``, ``drift.age.psi > 0.2`` or
``missing["home city"] > 0.1``: the registry's safe rule language (Python's ``ast`` with a
whitelist, never ``eval``) over the flat values of a monitor's latest windows.

A rule *fires* when it holds. A rule that reads a value the window does not have (no labels
yet, a column that is not monitored) is *unknown*: it neither fires nor resolves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidRuleError
from shipyard.registry import evaluate_rule, parse_rule
from shipyard.registry._gates import MissingValue

_HINT = ("write rules like \"drift_share > 0.3\", \"auc < 0.80\", \"drift.age.psi > 0.2\" or "
         "\"missing['home city'] > 0.1\"; `shipyard monitor show NAME` lists the values")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleOutcome:
    """``firing`` is None when the rule could not be evaluated (``detail`` says why);
    ``value`` is the left side of a comparison, ``threshold`` the right."""

    rule: str
    firing: bool | None
    value: Any = None
    threshold: Any = None
    op: str | None = None
    keys: tuple[str, ...] = field(default_factory=tuple)
    detail: str = ""


def check_rule(rule: str) -> str:
    """Parse a rule; raises `InvalidRuleError` with a monitoring hint."""
    try:
        parse_rule(rule)
    except InvalidRuleError as exc:
        msg = exc.message.replace("Promotion rule", "Monitor rule").replace(
            "A promotion rule", "A monitor rule")
        msg = msg.replace("names like metrics.auc or champion.metrics.auc",
                          "names like drift_share, auc or drift.age.psi")
        raise InvalidRuleError(msg, hint=_HINT) from None
    return rule.strip()


def evaluate(rule: str, values: Mapping[str, float | None]) -> RuleOutcome:
    """Evaluate ``rule`` over ``values`` (key -> value; dotted keys are paths)."""
    read: list[str] = []

    def resolve(path: tuple[str, ...]) -> Any:
        key = ".".join(path)
        read.append(key)
        value = values.get(key)
        if value is None:
            raise MissingValue(key, "has no value in the latest windows")
        return value

    res = evaluate_rule(rule, resolve)
    keys = tuple(dict.fromkeys(read))
    if res.detail:
        return RuleOutcome(rule=rule, firing=None, value=res.left, threshold=res.right,
                           op=res.op, keys=keys, detail=res.detail)
    return RuleOutcome(rule=rule, firing=res.passed, value=res.left, threshold=res.right,
                       op=res.op, keys=keys)

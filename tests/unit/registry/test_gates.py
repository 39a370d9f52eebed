from __future__ import annotations

import pytest

from shipyard.errors import InvalidRuleError
from shipyard.registry import evaluate_rule, parse_rule

VALUES = {("metrics", "auc"): 0.91, ("champion", "metrics", "auc"): 0.9,
          ("metrics", "latency_ms"): 12.0, ("params", "depth"): 6, ("tags", "stage"): "prod",
          ("metrics", "val/auc"): 0.8}


def resolve(path: tuple[str, ...]) -> object:
    from shipyard.registry._gates import MissingValue

    if path not in VALUES:
        raise MissingValue(".".join(path), "is not set on version 2")
    return VALUES[path]


@pytest.mark.parametrize(("rule", "passed"), [
    ("metrics.auc >= champion.metrics.auc + 0.005", True),
    ("metrics.auc >= champion.metrics.auc + 0.05", False),
    ("metrics.latency_ms < 20", True),
    ("metrics.latency_ms < 20 and params.depth <= 8", True),
    ("not metrics.latency_ms < 20 or tags.stage == 'prod'", True),
    ('metrics["val/auc"] * 2 > 1.5', True),
    ("-metrics.auc < 0", True),
])
def test_rules_evaluate(rule: str, passed: bool) -> None:
    assert evaluate_rule(rule, resolve).passed is passed


def test_simple_comparison_reports_both_sides() -> None:
    r = evaluate_rule("metrics.auc >= champion.metrics.auc + 0.005", resolve)
    assert (r.left, r.op, r.right) == (0.91, ">=", pytest.approx(0.905))


def test_missing_value_fails_with_the_reason() -> None:
    r = evaluate_rule("metrics.f1 > 0.5", resolve)
    assert not r.passed
    assert "metrics.f1 is not set on version 2" in r.detail


@pytest.mark.parametrize("rule", [
    "__import__('os').system('echo hi')", "metrics.auc.__class__ > 1", "open('x')",
    "[1][0] > 0", "lambda: 1", "metrics.auc if 1 else 2", "metrics.auc ** 2 > 1",
    "metrics[0] > 1", "True", "",
])
def test_anything_but_the_small_language_is_rejected(rule: str) -> None:
    with pytest.raises(InvalidRuleError):
        parse_rule(rule)


def test_syntax_errors_point_at_the_column() -> None:
    with pytest.raises(InvalidRuleError, match="does not parse"):
        parse_rule("metrics.auc >=")

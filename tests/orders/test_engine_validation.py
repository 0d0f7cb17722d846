"""Rule validation for the rule editor: valid rules have no problems, invalid ones are explained in plain words."""

from __future__ import annotations

import pytest

from orders.routing.core import (
    validate_rule,
    validate_ruleset,
)
from tests.orders.engine_builders import (
    rule,
    ruleset,
)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("hold", {"total_above": "500.00", "currency": "USD"}),
        ("hold", {"address_incomplete": True, "note_contains": ["加急"], "channels": ["ebay"], "store_ids": [1], "unmapped_sku": True, "tags": ["x"]}),
        ("gift", {"product_id": 1, "min_quantity": 2, "gift_product_id": 9, "gift_quantity": 1, "starts": "2026-11-11T00:00:00+08:00", "ends": None, "per_order_cap": 3}),
        ("sourcing", {"strategy": "region_first"}),
        ("sourcing", {}),
        ("split", {"policy": "whole"}),
        ("merge", {"window_hours": 12}),
    ],
)  # fmt: skip
def test_valid_rules_have_no_problems(kind, params):
    assert validate_rule(kind, params) == []


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    [
        ("hold", {}, "at least one condition"),
        ("hold", {"address_incomplete": False}, "at least one condition"),
        ("hold", {"total_above": "abc"}, "must be an amount"),
        ("hold", {"total_above": "-1"}, "cannot be negative"),
        ("hold", {"currency": "USD"}, "only makes sense"),
        ("hold", {"note_contains": []}, "non-empty list"),
        ("hold", {"store_ids": ["1"]}, "store ids"),
        ("hold", {"colour": "red", "tags": ["x"]}, "Unknown setting “colour”"),
        ("gift", {"product_id": 1, "min_quantity": 0, "gift_product_id": 2, "gift_quantity": 1}, "min_quantity"),
        ("gift", {"product_id": 1, "min_quantity": 1, "gift_product_id": 2, "gift_quantity": 1, "starts": "2026-11-11T00:00:00"}, "time zone"),
        ("gift", {"product_id": 1, "min_quantity": 1, "gift_product_id": 2, "gift_quantity": 1, "starts": "2026-11-12T00:00:00Z", "ends": "2026-11-11T00:00:00Z"}, "start before it ends"),
        ("gift", {"product_id": 1, "min_quantity": 1, "gift_product_id": 2, "gift_quantity": 1, "per_order_cap": 0}, "per_order_cap"),
        ("sourcing", {"strategy": "fastest"}, "Unknown strategy"),
        ("split", {"policy": "sometimes"}, "split policy"),
        ("merge", {"window_hours": 0}, "window_hours"),
        ("teleport", {}, "Unknown rule kind"),
    ],
)  # fmt: skip
def test_invalid_rules_are_explained_in_plain_words(kind, params, fragment):
    problems = validate_rule(kind, params)

    assert any(fragment in p for p in problems), problems


def test_validate_ruleset_names_the_rule_and_flags_rules_that_can_never_apply():
    rules = ruleset(
        rule("sourcing", rule_id=1, name="Cheap", strategy="cheapest"),
        rule("sourcing", rule_id=2, name="Regional", strategy="region_first"),
        rule("sourcing", rule_id=3, enabled=False, strategy="best_record"),
        rule("merge", rule_id=4, window_hours=-1),
    )

    problems = validate_ruleset(rules)

    assert len(problems) == 2
    assert problems[0].startswith("Rule “Regional”: never applies")
    assert problems[1].startswith("Rule #4: window_hours")

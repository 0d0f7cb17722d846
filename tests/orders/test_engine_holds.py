"""The pure routing engine's holds: unmapped SKUs always, hold rules when they match, every reason recorded in rule order."""

from __future__ import annotations

import pytest

from orders.routing.core import (
    Reason,
    describe,
)
from tests.orders.engine_builders import (
    address,
    catalog,
    codes,
    order,
    route,
    rule,
    source,
)


def test_an_unmapped_sku_always_holds_the_order_even_without_a_rule():
    cat = catalog(source(1))

    result = route(order(("SKU-A", 1), ("NOT-MAPPED", 2)), cat)

    assert result.held
    assert result.hold_reasons == (Reason("unmapped_sku", {"listing_sku": "NOT-MAPPED", "line": "102"}),)
    unmapped = result.lines[1]
    assert (unmapped.line_id, unmapped.product_id, unmapped.quantity, unmapped.source_id) == (102, None, 2, None)
    assert result.lines[0].source_id == 1  # the mapped line is still decided, for the order page


def test_a_hold_rule_naming_unmapped_skus_is_recorded_as_fired():
    cat = catalog(source(1))
    named = rule("hold", rule_id=5, name="Unmapped", unmapped_sku=True)

    held = route(order(("NOT-MAPPED", 1)), cat, named)
    clean = route(order(("SKU-A", 1)), cat, named)

    assert held.fired_rule_ids == (5,)
    assert held.hold_reasons[0].params["rule"] == "5"
    assert clean.fired_rule_ids == ()
    assert not clean.held


@pytest.mark.parametrize(
    ("params", "overrides", "code", "reason_params"),
    [
        ({"total_above": "500"}, {"total": "500.01"}, "hold_total_above", {"total": "500.01", "limit": "500"}),
        ({"address_incomplete": True}, {"address": address(city=" ", name="")}, "hold_address_incomplete", {"missing": "name, city"}),
        ({"note_contains": ["Urgent", "加急"]}, {"buyer_note": "请加急发货"}, "hold_note_contains", {"words": "加急"}),
        ({"note_contains": ["urgent"]}, {"buyer_note": "URGENT please"}, "hold_note_contains", {"words": "urgent"}),
        ({"channels": ["eBay"]}, {"channel": "ebay"}, "hold_channel", {"channel": "ebay"}),
        ({"store_ids": [3, 4]}, {"store_id": 4}, "hold_store", {"store": "4"}),
        ({"tags": ["fraud-check"]}, {"tags": ("vip", "Fraud-Check")}, "hold_tag", {"tags": "Fraud-Check"}),
    ],
)  # fmt: skip
def test_each_hold_condition_holds_a_matching_order_and_not_another(params, overrides, code, reason_params):
    cat = catalog(source(1))
    hold = rule("hold", rule_id=3, name="Review", **params)

    held = route(order(**overrides), cat, hold)
    clean = route(order(), cat, hold)

    assert held.held
    assert codes(held.hold_reasons) == [code]
    assert held.hold_reasons[0].params.items() >= (reason_params | {"rule": "3", "rule_name": "Review"}).items()
    assert held.fired_rule_ids == (3,)
    assert held.lines[0].source_id == 1  # decided all the same
    assert not clean.held
    assert clean.fired_rule_ids == ()


def test_total_above_is_strictly_above_and_can_be_limited_to_one_currency():
    cat = catalog(source(1))
    usd_only = rule("hold", total_above="500", currency="USD")

    assert not route(order(total="500.00"), cat, usd_only).held
    assert route(order(total="500.01"), cat, usd_only).held
    assert not route(order(total="9000", currency="JPY"), cat, usd_only).held


def test_every_matching_hold_rule_is_recorded_in_rule_order():
    cat = catalog(source(1))
    rules = (
        rule("hold", rule_id=10, tags=["vip"]),
        rule("hold", rule_id=4, total_above="50"),
        rule("hold", rule_id=7, channels=["amazon"]),
        rule("hold", rule_id=2, note_contains=["gift wrap"]),
    )

    result = route(order(tags=("vip",), buyer_note="Gift wrap please"), cat, *rules)

    assert codes(result.hold_reasons) == ["hold_tag", "hold_total_above", "hold_note_contains"]
    assert result.fired_rule_ids == (10, 4, 2)


def test_a_hold_rule_with_several_conditions_records_each_one_that_matched():
    cat = catalog(source(1))

    result = route(order(tags=("vip",)), cat, rule("hold", tags=["vip"], total_above="50", channels=["amazon"]))

    assert codes(result.hold_reasons) == ["hold_total_above", "hold_tag"]


def test_disabled_rules_are_skipped():
    cat = catalog(source(1, cost="5.00"), source(2, cost="1.00"))

    result = route(
        order(tags=("vip",), total="900"),
        cat,
        rule("hold", rule_id=1, enabled=False, tags=["vip"]),
        rule("sourcing", rule_id=2, enabled=False, strategy="cheapest"),
        rule("gift", rule_id=3, enabled=False, product_id=1, min_quantity=1, gift_product_id=2, gift_quantity=1),
        rule("merge", rule_id=4, enabled=False, window_hours=2),
    )

    assert not result.held
    assert result.lines[0].source_id == 1
    assert len(result.lines) == 1
    assert result.merge_key is None
    assert result.fired_rule_ids == ()


def test_the_first_enabled_sourcing_rule_decides_so_rule_order_matters():
    cat = catalog(source(1, cost="5.00"), source(2, cost="1.00"))
    cheapest = rule("sourcing", rule_id=1, strategy="cheapest")
    path = rule("sourcing", rule_id=2, strategy="path_order")

    assert route(order(), cat, cheapest, path).lines[0].source_id == 2
    assert route(order(), cat, path, cheapest).lines[0].source_id == 1
    assert route(order(), cat, path, cheapest).fired_rule_ids == (2,)


def test_an_enabled_rule_that_cannot_be_applied_holds_every_order_to_be_safe():
    cat = catalog(source(1))
    broken = rule("hold", rule_id=9, name="Big orders", total_above="lots")

    held = route(order(), cat, broken)
    ignored = route(order(), cat, rule("hold", rule_id=9, enabled=False, total_above="lots"))

    assert held.held
    assert codes(held.hold_reasons) == ["rule_invalid"]
    assert "amount" in describe(held.hold_reasons[0])
    assert not ignored.held

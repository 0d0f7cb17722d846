"""The pure routing engine is deterministic and explains itself: every reason code renders as a sentence."""

from __future__ import annotations

import pytest

from orders.routing.core import (
    Reason,
    RoutingResult,
    StockLedger,
    SupplierRecord,
    describe,
    route_batch,
    route_order,
)
from tests.orders.engine_builders import (
    T,
    catalog,
    gift,
    order,
    rule,
    ruleset,
    source,
    two_supplier_catalog,
)


def test_the_same_input_twice_gives_equal_results():
    cat = two_supplier_catalog(records=(SupplierRecord(1, 0.9, 0.05, 10),))
    rules = ruleset(
        rule("hold", rule_id=1, total_above="50"),
        rule("sourcing", rule_id=2, strategy="best_record"),
        rule("split", rule_id=3, policy="whole"),
        rule("merge", rule_id=4, window_hours=3),
        gift(rule_id=5),
    )
    orders = [order(("SKU-A", 2), ("SKU-B", 1), order_id=n) for n in range(1, 6)]

    def run() -> list[RoutingResult]:
        return route_batch(orders=orders, ruleset=rules, catalog=cat, stock=StockLedger({2: 3, 4: 4}), now=T)

    assert run() == run()


def test_result_records_the_rule_set_version_and_when_it_was_routed():
    result = route_order(
        order=order(), ruleset=ruleset(version=42), catalog=catalog(source(1)), stock=StockLedger(), now=T
    )

    assert (result.ruleset_version, result.routed_at) == (42, T)


ENGINE_CODES = (
    "chosen", "inactive", "region_not_served", "no_stock", "rejected_before", "costlier", "other_currency",
    "later_on_path", "worse_record", "no_record", "less_specific_region", "stock_not_confirmed",
    "not_whole_order_supplier", "stock_not_tracked", "routed", "bundle_component", "gift_added",
    "whole_order_supplier", "whole_order_impossible", "no_source_left", "nothing_to_ship", "unmapped_sku",
    "product_inactive", "product_unknown", "hold_total_above", "hold_address_incomplete", "hold_note_contains",
    "hold_channel", "hold_store", "hold_tag", "rule_invalid",
)  # fmt: skip


@pytest.mark.parametrize("code", ENGINE_CODES)
def test_describe_renders_every_reason_code_as_a_sentence(code):
    text = describe(Reason(code, {"rule": "3", "supplier": "", "chosen_supplier": "7"}))

    assert text[0].isupper()
    assert text.endswith(".")
    assert "{" not in text
    assert code not in text.split()  # a sentence, not the code and its parameters


def test_describe_falls_back_to_the_code_for_an_unknown_reason():
    assert describe(Reason("new_thing", {"a": "1"})) == "new_thing (a=1)"

"""The pure routing engine expands bundles into their products and adds gift lines, routed like any other line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orders.routing.core import (
    Reason,
    StockLedger,
    describe,
)
from tests.orders.engine_builders import (
    catalog,
    codes,
    gift,
    order,
    route,
    source,
)


def test_a_bundle_expands_into_its_components_with_multiplied_quantities():
    cat = catalog(source(1, 1), source(2, 2), listings={"GIFTBOX": ((1, 2), (2, 3))})

    result = route(order(("GIFTBOX", 2), ("SKU-A", 1)), cat)

    assert [(line.line_id, line.product_id, line.quantity) for line in result.lines] == [
        (101, 1, 4),
        (101, 2, 6),
        (102, 1, 1),
    ]
    assert result.lines[0].reasons[0] == Reason(
        "bundle_component", {"listing_sku": "GIFTBOX", "per_bundle": "2", "bundles": "2"}
    )
    assert "bundle_component" not in codes(result.lines[2].reasons)


def test_a_multipack_of_one_product_is_a_bundle_too():
    cat = catalog(source(1, 1), listings={"A-3PACK": ((1, 3),)})

    result = route(order(("A-3PACK", 2)), cat)

    assert result.lines[0].quantity == 6
    assert codes(result.lines[0].reasons)[0] == "bundle_component"


GIFT_CATALOG = catalog(source(1, 1), source(90, 9, supplier=4, cost="1.20"), listings={"A-PAIR": ((1, 2),)})


@pytest.mark.parametrize(("bought", "gifts"), [(1, 0), (2, 1), (3, 1), (4, 2), (7, 3)])
def test_gift_is_one_per_threshold_bought(bought, gifts):
    result = route(order(("SKU-A", bought)), GIFT_CATALOG, gift())

    added = [line for line in result.lines if line.is_gift]
    assert sum(line.quantity for line in added) == gifts
    assert (7 in result.fired_rule_ids) == (gifts > 0)


def test_gift_quantity_multiplies_and_the_cap_limits_it():
    uncapped = route(order(("SKU-A", 6)), GIFT_CATALOG, gift(gift_quantity=2))
    capped = route(order(("SKU-A", 6)), GIFT_CATALOG, gift(gift_quantity=2, per_order_cap=4))

    assert uncapped.lines[-1].quantity == 6
    assert capped.lines[-1].quantity == 4


def test_gift_threshold_counts_quantities_after_bundle_expansion_across_lines():
    result = route(order(("A-PAIR", 1), ("SKU-A", 1)), GIFT_CATALOG, gift(min_quantity=3))

    assert result.lines[-1].is_gift
    assert result.lines[-1].reasons[0].params["bought"] == "3"


@pytest.mark.parametrize(
    ("placed_at", "given"),
    [
        (dt.datetime(2026, 11, 10, 23, 59, tzinfo=dt.UTC), False),
        (dt.datetime(2026, 11, 11, 0, 0, tzinfo=dt.UTC), True),
        (dt.datetime(2026, 11, 11, 23, 59, tzinfo=dt.UTC), True),
        (dt.datetime(2026, 11, 12, 0, 0, tzinfo=dt.UTC), False),  # the end is exclusive
    ],
)
def test_gift_only_within_its_window_judged_by_when_the_order_was_placed(placed_at, given):
    window = gift(starts="2026-11-11T00:00:00+00:00", ends="2026-11-12T00:00:00Z")

    result = route(order(("SKU-A", 2), placed_at=placed_at), GIFT_CATALOG, window)

    assert any(line.is_gift for line in result.lines) == given


def test_a_gift_line_is_routed_like_any_other_line():
    result = route(order(("SKU-A", 2)), GIFT_CATALOG, gift(), stock=StockLedger({90: 5}))

    line = result.lines[-1]
    assert (line.line_id, line.product_id, line.quantity, line.is_gift) == (None, 9, 1, True)
    assert (line.source_id, line.supplier_id, line.unit_cost) == (90, 4, Decimal("1.20"))
    assert codes(line.reasons) == ["gift_added", "routed"]
    assert describe(line.reasons[0]) == "Gift of 1 × product #9 from Rule “Buy 2 get a tote”: bought 2 of product #1."


def test_a_gift_without_stock_holds_the_order_like_any_other_line():
    result = route(order(("SKU-A", 2)), GIFT_CATALOG, gift(), stock=StockLedger({90: 0}))

    assert result.held
    assert result.hold_reasons == (Reason("no_source_left", {"product": "P9"}),)

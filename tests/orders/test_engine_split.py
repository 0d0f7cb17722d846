"""The pure routing engine's split policy: each line to its best source, or the whole order from one supplier."""

from __future__ import annotations

from orders.routing.core import (
    Reason,
    Region,
    StockLedger,
    describe,
)
from tests.orders.engine_builders import (
    OWN,
    catalog,
    codes,
    order,
    route,
    rule,
    source,
    two_supplier_catalog,
    verdicts,
)


def test_split_policy_routes_each_line_to_its_own_best_source():
    result = route(order(("SKU-A", 1), ("SKU-B", 1)), two_supplier_catalog(), rule("split", policy="split"))

    assert [line.supplier_id for line in result.lines] == [1, 3]
    assert all("whole_order_supplier" not in codes(line.reasons) for line in result.lines)
    assert result.fired_rule_ids == (1,)


def test_whole_policy_ships_every_line_from_one_supplier_when_one_can():
    result = route(order(("SKU-A", 1), ("SKU-B", 1)), two_supplier_catalog(), rule("split", policy="whole"))

    assert [line.supplier_id for line in result.lines] == [2, 2]
    assert all(line.reasons[-1] == Reason("whole_order_supplier", {"supplier": "2"}) for line in result.lines)
    assert verdicts(result, 0)[1] == ["not_whole_order_supplier"]
    assert verdicts(result, 1)[3] == ["not_whole_order_supplier"]
    assert not result.held


def test_whole_policy_prefers_the_supplier_ranked_first_for_the_first_line():
    cat = catalog(
        source(1, 1, position=1, supplier=1),
        source(2, 1, position=2, supplier=2),
        source(3, 2, position=1, supplier=2),
        source(4, 2, position=2, supplier=1),
    )

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat, rule("split", policy="whole"))

    assert [line.source_id for line in result.lines] == [1, 4]


def test_whole_policy_treats_the_own_warehouse_as_one_supplier():
    cat = catalog(
        source(1, 1, position=1, supplier=1),
        source(2, 1, position=2, supplier=OWN),
        source(3, 2, position=1, supplier=OWN),
    )

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat, rule("split", policy="whole"))

    assert [line.source_id for line in result.lines] == [2, 3]
    assert result.lines[0].reasons[-1] == Reason("whole_order_supplier", {"supplier": ""})
    assert describe(result.lines[0].reasons[-1]) == "The whole order ships from own warehouse."


def test_whole_policy_falls_back_to_split_and_says_so_when_no_supplier_has_everything():
    cat = catalog(source(1, 1, supplier=1), source(2, 2, supplier=2))

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat, rule("split", policy="whole"))

    assert [line.supplier_id for line in result.lines] == [1, 2]
    assert all(line.reasons[-1].code == "whole_order_impossible" for line in result.lines)
    assert not result.held


def test_whole_policy_counts_stock_for_all_of_a_suppliers_lines_together():
    # Supplier 2 has 3 units of product 1 at source 2, the order needs 2 + 2 of it.
    cat = catalog(
        source(1, 1, position=1, supplier=1),
        source(2, 1, position=2, supplier=2),
        source(3, 2, position=1, supplier=2),
        listings={"SKU-AB": ((1, 2), (2, 1))},
    )
    stock = StockLedger({2: 3})

    result = route(order(("SKU-AB", 1), ("SKU-A", 2)), cat, rule("split", policy="whole"), stock=stock)

    assert "whole_order_impossible" in codes(result.lines[0].reasons)
    assert [line.source_id for line in result.lines] == [1, 3, 1]


def test_whole_policy_with_unserved_region_rules_that_supplier_out():
    cat = two_supplier_catalog()
    cat = catalog(
        *(s for sources in cat.sources.values() for s in sources if s.source_id != 4),
        source(4, 2, position=2, supplier=2, regions=(Region("CN"),)),
    )

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat, rule("split", policy="whole"))

    assert [line.supplier_id for line in result.lines] == [1, 3]
    assert "whole_order_impossible" in codes(result.lines[1].reasons)

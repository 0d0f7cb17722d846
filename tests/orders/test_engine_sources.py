"""The pure routing engine walks the source path: filters, sourcing strategies, and why each source was or was not chosen."""

from __future__ import annotations

from decimal import Decimal

from orders.routing.core import (
    STRATEGIES,
    Reason,
    Region,
    StockLedger,
    SupplierRecord,
    describe,
)
from tests.orders.engine_builders import (
    OWN,
    address,
    catalog,
    codes,
    order,
    route,
    rule,
    source,
    verdicts,
)


def test_default_strategy_takes_the_first_source_on_the_path_and_explains_the_rest():
    cat = catalog(
        source(3, position=3, supplier=3), source(1, position=1, supplier=1), source(2, position=2, supplier=2)
    )

    result = route(order(("SKU-A", 2)), cat)

    line = result.lines[0]
    assert (line.source_id, line.supplier_id, line.quantity, line.unit_cost) == (1, 1, 2, Decimal("10.00"))
    assert line.cost_currency == "USD"
    assert verdicts(result) == {1: ["chosen", "stock_not_tracked"], 2: ["later_on_path"], 3: ["later_on_path"]}
    assert [v.source_id for v in line.considered] == [1, 2, 3]
    assert codes(line.reasons) == ["routed", "stock_not_tracked"]
    assert not result.held
    assert result.fired_rule_ids == ()


def test_inactive_source_is_skipped_with_reason():
    cat = catalog(source(1, supplier=1, active=False), source(2, supplier=2))

    result = route(order(), cat)

    assert result.lines[0].source_id == 2
    assert verdicts(result)[1] == ["inactive"]


def test_region_filter_by_country():
    cat = catalog(source(1, regions=(Region("CN"),)), source(2, regions=(Region("US"),)))

    result = route(order(), cat)

    assert result.lines[0].source_id == 2
    assert verdicts(result)[1] == ["region_not_served"]
    assert describe(result.lines[0].considered[0].reasons[0]) == "Does not serve CA, US."


def test_region_filter_by_province_is_case_insensitive():
    cat = catalog(
        source(1, regions=(Region("US", "NY"),)),
        source(2, regions=(Region("us", "ca"),)),
    )

    result = route(order(address=address(province="Ca")), cat)

    assert result.lines[0].source_id == 2
    assert verdicts(result)[1] == ["region_not_served"]


def test_a_whole_country_region_serves_every_province_and_empty_regions_serve_everywhere():
    cat = catalog(source(1, regions=(Region("US"),)), source(2, 2))

    result = route(order(("SKU-A", 1), ("SKU-B", 1), address=address(country="US", province="Texas")), cat)

    assert [line.source_id for line in result.lines] == [1, 2]


def test_stock_filter_skips_a_source_with_too_little_and_says_how_much():
    cat = catalog(source(1), source(2))
    stock = StockLedger({1: 2, 2: 9})

    result = route(order(("SKU-A", 3)), cat, stock=stock)

    assert result.lines[0].source_id == 2
    assert result.lines[0].considered[0].reasons == (Reason("no_stock", {"available": "2", "needed": "3"}),)
    assert codes(result.lines[0].reasons) == ["routed"]  # tracked stock: nothing assumed


def test_a_stock_row_of_zero_means_none_but_no_row_means_untracked():
    cat = catalog(source(1), source(2))

    result = route(order(), cat, stock=StockLedger({1: 0}))

    assert result.lines[0].source_id == 2
    assert "stock_not_tracked" in codes(result.lines[0].reasons)


def test_cheapest_picks_the_lowest_cost_and_says_the_others_cost_more():
    cat = catalog(source(1, cost="12.00"), source(2, cost="9.50"), source(3, cost="11.00"))

    result = route(order(), cat, rule("sourcing", strategy="cheapest"))

    assert result.lines[0].source_id == 2
    assert result.lines[0].unit_cost == Decimal("9.50")
    assert verdicts(result) == {2: ["chosen", "stock_not_tracked"], 3: ["costlier"], 1: ["costlier"]}
    assert result.lines[0].considered[1].reasons[0].params == {
        "cost": "11.00",
        "chosen_cost": "9.50",
        "currency": "USD",
    }
    assert result.fired_rule_ids == (1,)


def test_cheapest_breaks_a_tie_by_path_position():
    cat = catalog(source(1, cost="9.50", position=2), source(2, cost="9.50", position=1))

    result = route(order(), cat, rule("sourcing", strategy="cheapest"))

    assert result.lines[0].source_id == 2
    assert verdicts(result)[1] == ["later_on_path"]


def test_cheapest_does_not_compare_across_currencies():
    # 5 EUR is not "cheaper" than 9 USD: no conversion happens in routing.
    cat = catalog(source(1, cost="9.00"), source(2, cost="5.00", currency="EUR"), source(3, cost="12.00"))

    result = route(order(), cat, rule("sourcing", strategy="cheapest"))

    assert result.lines[0].source_id == 1
    assert verdicts(result) == {1: ["chosen", "stock_not_tracked"], 3: ["costlier"], 2: ["other_currency"]}


def test_cheapest_still_uses_a_source_in_another_currency_when_it_is_the_only_one_left():
    cat = catalog(source(1, cost="9.00"), source(2, cost="5.00", currency="EUR"))

    result = route(order(), cat, rule("sourcing", strategy="cheapest"), stock=StockLedger({1: 0}))

    assert (result.lines[0].source_id, result.lines[0].cost_currency) == (2, "EUR")


def test_region_first_prefers_a_source_naming_the_province_over_one_serving_everywhere():
    cat = catalog(
        source(1, supplier=1),
        source(2, supplier=2, regions=(Region("US"),)),
        source(3, supplier=3, regions=(Region("US", "CA"),)),
    )

    path = route(order(), cat)
    regional = route(order(), cat, rule("sourcing", strategy="region_first"))

    assert path.lines[0].source_id == 1
    assert regional.lines[0].source_id == 3
    assert [v.source_id for v in regional.lines[0].considered] == [3, 2, 1]
    assert verdicts(regional)[2] == ["less_specific_region"]
    assert regional.lines[0].considered[2].reasons[0].params == {"scope": "everywhere", "chosen_scope": "province"}


def test_in_stock_first_prefers_confirmed_stock_over_an_untracked_source_earlier_on_the_path():
    cat = catalog(source(1, supplier=1), source(2, supplier=2), source(3, supplier=3))
    stock = StockLedger({2: 1, 3: 10})

    path = route(order(("SKU-A", 2)), cat, stock=StockLedger({2: 1, 3: 10}))
    in_stock = route(order(("SKU-A", 2)), cat, rule("sourcing", strategy="in_stock_first"), stock=stock)

    assert path.lines[0].source_id == 1
    assert in_stock.lines[0].source_id == 3
    assert verdicts(in_stock) == {3: ["chosen"], 1: ["stock_not_confirmed"], 2: ["no_stock"]}


def test_best_record_prefers_the_lowest_rejection_rate_then_the_best_on_time_rate():
    records = (
        SupplierRecord(1, on_time_rate=0.99, rejection_rate=0.10, shipped=400),
        SupplierRecord(2, on_time_rate=0.80, rejection_rate=0.01, shipped=400),
        SupplierRecord(3, on_time_rate=0.95, rejection_rate=0.01, shipped=400),
    )
    cat = catalog(source(1, supplier=1), source(2, supplier=2), source(3, supplier=3), records=records)

    result = route(order(), cat, rule("sourcing", strategy="best_record"))

    assert result.lines[0].supplier_id == 3
    assert [v.source_id for v in result.lines[0].considered] == [3, 2, 1]
    assert verdicts(result) == {3: ["chosen", "stock_not_tracked"], 2: ["worse_record"], 1: ["worse_record"]}
    assert describe(result.lines[0].considered[2].reasons[0]) == (
        "Supplier #1 has a worse record (10.0% rejected, 99.0% on time) than supplier #3 (1.0% rejected, 95.0% on time)."
    )


def test_best_record_ranks_suppliers_without_a_record_after_those_with_one():
    records = (
        SupplierRecord(2, on_time_rate=0.7, rejection_rate=0.2, shipped=50),
        SupplierRecord(3, on_time_rate=1.0, rejection_rate=0.0, shipped=0),  # nothing shipped: no evidence
    )
    cat = catalog(source(1, supplier=OWN), source(2, supplier=2), source(3, supplier=3), records=records)

    result = route(order(), cat, rule("sourcing", strategy="best_record"))

    assert result.lines[0].supplier_id == 2
    assert verdicts(result) == {2: ["chosen", "stock_not_tracked"], 1: ["no_record"], 3: ["no_record"]}


def test_every_strategy_is_a_name_mapped_to_a_sort_key():
    assert set(STRATEGIES) == {"path_order", "cheapest", "region_first", "in_stock_first", "best_record"}
    for name, strategy in STRATEGIES.items():
        assert strategy.name == name
        assert callable(strategy.key)
        assert callable(strategy.explain)


def test_a_product_without_sources_holds_the_order_with_no_source_left():
    cat = catalog(source(1, 1))

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat)

    assert result.held
    assert result.lines[1].source_id is None
    assert codes(result.lines[1].reasons) == ["no_source_left"]
    assert result.hold_reasons == (Reason("no_source_left", {"product": "P2"}),)


def test_an_inactive_product_holds_the_order():
    cat = catalog(source(1, 1), source(2, 2), inactive_products=(2,))

    result = route(order(("SKU-A", 1), ("SKU-B", 1)), cat)

    assert result.held
    assert codes(result.hold_reasons) == ["product_inactive"]
    assert result.lines[1].source_id is None
    assert result.lines[0].source_id == 1

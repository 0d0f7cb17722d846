"""The pure routing engine against stock: reservations, batches by placing time, never below zero; rejected sources skipped."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from orders.routing.core import (
    InsufficientStock,
    Reason,
    StockLedger,
    route_batch,
)
from tests.orders.engine_builders import (
    T,
    catalog,
    codes,
    order,
    route,
    rule,
    ruleset,
    source,
    verdicts,
)


def test_a_routed_order_reserves_its_quantities_from_tracked_stock():
    cat = catalog(source(1), source(2, 2))
    stock = StockLedger({1: 10})

    route(order(("SKU-A", 3), ("SKU-B", 4)), cat, stock=stock)

    assert stock.available(1) == 7
    assert stock.available(2) is None  # untracked stays untracked
    assert stock.reserved == {1: 3}


def test_a_held_order_reserves_nothing_but_still_gets_its_decisions():
    cat = catalog(source(1))
    stock = StockLedger({1: 10})

    result = route(order(("SKU-A", 3), tags=("check",)), cat, rule("hold", tags=["check"]), stock=stock)

    assert result.held
    assert result.lines[0].source_id == 1
    assert stock.available(1) == 10
    assert stock.reserved == {}


def test_two_lines_of_one_order_never_count_the_same_unit_twice():
    cat = catalog(source(1), source(2))
    stock = StockLedger({1: 3, 2: 5})

    result = route(order(("SKU-A", 2), ("SKU-A", 2)), cat, stock=stock)

    assert [line.source_id for line in result.lines] == [1, 2]
    assert result.lines[1].considered[0].reasons == (Reason("no_stock", {"available": "1", "needed": "2"}),)
    assert (stock.available(1), stock.available(2)) == (1, 3)


def test_a_batch_against_scarce_stock_never_over_reserves_and_the_rest_fall_through_the_path():
    cat = catalog(source(1, supplier=1), source(2, supplier=2))
    stock = StockLedger({1: 5, 2: 100})
    orders = [order(order_id=n, placed_at=T + dt.timedelta(minutes=n)) for n in range(1, 11)]

    results = route_batch(orders=orders, ruleset=ruleset(), catalog=cat, stock=stock, now=T)

    assert Counter(r.lines[0].source_id for r in results) == {1: 5, 2: 5}
    assert [r.order_id for r in results if r.lines[0].source_id == 1] == [1, 2, 3, 4, 5]
    assert (stock.available(1), stock.available(2)) == (0, 95)


def test_a_batch_against_scarce_stock_with_no_next_source_holds_the_rest():
    cat = catalog(source(1))
    stock = StockLedger({1: 5})
    orders = [order(order_id=n) for n in range(10, 0, -1)]

    results = route_batch(orders=orders, ruleset=ruleset(), catalog=cat, stock=stock, now=T)

    assert [r.order_id for r in results] == list(range(1, 11))  # same placed_at: by order id
    assert [r.held for r in results] == [False] * 5 + [True] * 5
    assert all(codes(r.hold_reasons) == ["no_source_left"] for r in results[5:])
    assert stock.available(1) == 0
    assert stock.reserved == {1: 5}


def test_a_batch_gives_scarce_stock_to_the_earliest_order_whatever_the_input_order():
    cat = catalog(source(1))
    early, late = order(order_id=9, placed_at=T), order(order_id=1, placed_at=T + dt.timedelta(hours=1))

    results = route_batch(orders=[late, early], ruleset=ruleset(), catalog=cat, stock=StockLedger({1: 1}), now=T)

    assert [(r.order_id, r.held) for r in results] == [(9, False), (1, True)]


def test_a_held_order_in_a_batch_leaves_its_stock_to_the_next_order():
    cat = catalog(source(1))
    hold = rule("hold", tags=["check"])
    orders = [order(order_id=1, tags=("check",)), order(order_id=2)]
    stock = StockLedger({1: 1})

    results = route_batch(orders=orders, ruleset=ruleset(hold), catalog=cat, stock=stock, now=T)

    assert [(r.held, r.lines[0].source_id) for r in results] == [(True, 1), (False, 1)]
    assert stock.available(1) == 0


def test_stock_ledger_refuses_to_go_below_zero_and_changes_nothing():
    stock = StockLedger({1: 2})

    with pytest.raises(InsufficientStock):
        stock.reserve(1, 3)

    assert stock.available(1) == 2
    assert stock.reserved == {}


def test_stock_ledger_release_gives_a_reservation_back():
    stock = StockLedger({1: 2})
    stock.reserve(1, 2)

    stock.release(1, 2)

    assert stock.available(1) == 2
    assert stock.reserved == {}


# ---------------------------------------------------------------------------
# Rejection: exclude_sources


def test_a_rejected_source_is_skipped_and_the_line_falls_through_to_the_next_on_the_path():
    cat = catalog(source(1, supplier=1), source(2, supplier=2), source(3, supplier=3))

    result = route(order(), cat, exclude_sources=frozenset({1}))

    assert result.lines[0].source_id == 2
    assert verdicts(result) == {1: ["rejected_before"], 2: ["chosen", "stock_not_tracked"], 3: ["later_on_path"]}


def test_when_every_source_has_rejected_the_order_is_held_with_no_source_left():
    cat = catalog(source(1, supplier=1), source(2, supplier=2))
    stock = StockLedger({1: 5, 2: 5})

    result = route(order(), cat, stock=stock, exclude_sources=frozenset({1, 2}))

    assert result.held
    assert codes(result.hold_reasons) == ["no_source_left"]
    assert (stock.available(1), stock.available(2)) == (5, 5)


def test_route_batch_takes_rejected_sources_per_order():
    cat = catalog(source(1, supplier=1), source(2, supplier=2))
    orders = [order(order_id=1), order(order_id=2)]

    results = route_batch(
        orders=orders, ruleset=ruleset(), catalog=cat, stock=StockLedger(), now=T, exclude_sources={2: frozenset({1})}
    )

    assert [r.lines[0].source_id for r in results] == [1, 2]

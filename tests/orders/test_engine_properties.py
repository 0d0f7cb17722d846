"""Properties of the pure routing engine over random catalogs, stock, rules and orders (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.routing.core import (
    STRATEGIES,
    Region,
    RoutingResult,
    Source,
    StockLedger,
    SupplierRecord,
    describe,
    route_batch,
)
from orders.routing.core.types import REASON_TEXTS
from tests.orders.engine_builders import (
    T,
    address,
    catalog,
    codes,
    gift,
    order,
    rule,
    ruleset,
)

COUNTRIES = ("US", "CN", "DE")
PROVINCES = ("CA", "ny", "Zhejiang", "")
REGION_CHOICES = (Region("US"), Region("US", "CA"), Region("CN", "zhejiang"), Region("CN"), Region("DE", "BY"))
SKUS = ("SKU-A", "SKU-B", "SKU-C", "SKU-D", "BOX", "PAIR", "UNMAPPED")


@st.composite
def scenarios(draw):
    sources = []
    for product_id in range(1, 5):
        for _ in range(draw(st.integers(0, 4))):
            source_id = len(sources) + 1
            sources.append(
                Source(
                    source_id=source_id,
                    product_id=product_id,
                    position=draw(st.integers(1, 4)),
                    supplier_id=draw(st.sampled_from([None, 1, 2, 3])),
                    cost_price=draw(
                        st.sampled_from([Decimal("1.00"), Decimal("2.50"), Decimal("2.50"), Decimal("9.99")])
                    ),
                    currency=draw(st.sampled_from(["USD", "USD", "EUR"])),
                    regions=tuple(draw(st.lists(st.sampled_from(REGION_CHOICES), max_size=2))),
                    active=draw(st.booleans() | st.just(True)),
                )
            )
    stock = {s.source_id: draw(st.integers(0, 6)) for s in sources if draw(st.booleans())}
    records = tuple(
        SupplierRecord(s, draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(st.integers(0, 3))) for s in (1, 2, 3)
    )
    cat = catalog(
        *sources,
        listings={"BOX": ((1, 1), (2, 2)), "PAIR": ((3, 2),)},
        inactive_products=tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4, 5]), max_size=1))),
        records=records,
    )
    rules = [rule("sourcing", rule_id=1, strategy=draw(st.sampled_from(sorted(STRATEGIES))))]
    rules.append(rule("split", rule_id=2, policy=draw(st.sampled_from(["split", "whole"]))))
    if draw(st.booleans()):
        rules.append(
            gift(rule_id=3, gift_product_id=draw(st.integers(1, 5)), per_order_cap=draw(st.sampled_from([None, 2])))
        )
    if draw(st.booleans()):
        rules.append(rule("hold", rule_id=4, total_above="150"))
    if draw(st.booleans()):
        rules.append(rule("merge", rule_id=5, window_hours=4))
    orders = []
    for order_id in range(1, draw(st.integers(1, 6)) + 1):
        lines = draw(st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=4))
        where = address(country=draw(st.sampled_from(COUNTRIES)), province=draw(st.sampled_from(PROVINCES)))
        minutes = draw(st.integers(0, 3))
        orders.append(
            order(*lines, order_id=order_id, placed_at=T + dt.timedelta(minutes=minutes), total=str(draw(st.integers(1, 300))), address=where)
        )  # fmt: skip
    exclude = frozenset(draw(st.lists(st.sampled_from([s.source_id for s in sources] or [0]), max_size=2)))
    return cat, stock, ruleset(*rules), orders, exclude


def run_scenario(cat, stock, rules, orders, exclude) -> tuple[list[RoutingResult], StockLedger]:
    ledger = StockLedger(stock)
    results = route_batch(
        orders=orders,
        ruleset=rules,
        catalog=cat,
        stock=ledger,
        now=T,
        exclude_sources={o.order_id: exclude for o in orders},
    )
    return results, ledger


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_decision_is_explained_and_no_stock_is_oversold(scenario):
    cat, stock, _rules, orders, exclude = scenario
    by_id = {s.source_id: s for sources in cat.sources.values() for s in sources}
    orders_by_id = {o.order_id: o for o in orders}

    results, ledger = run_scenario(*scenario)

    shipped: Counter[int] = Counter()
    for result in results:
        assert result.held == bool(result.hold_reasons)
        for line in result.lines:
            assert line.reasons, "every decision has a reason"
            chosen = [v for v in line.considered if v.chosen]
            assert [v.source_id for v in chosen] == ([line.source_id] if line.source_id is not None else [])
            for verdict in line.considered:
                assert verdict.reasons, "every considered source has a reason"
            if line.product_id is not None and line.considered:
                assert {v.source_id for v in line.considered} == {s.source_id for s in cat.sources[line.product_id]}
            if line.source_id is None:
                assert result.held or "nothing_to_ship" in codes(line.reasons)
                continue
            picked = by_id[line.source_id]
            where = orders_by_id[result.order_id].address
            assert picked.active
            assert picked.source_id not in exclude
            assert picked.product_id == line.product_id
            assert not picked.regions or any(
                r.country.casefold() == where.country.casefold()
                and r.province.casefold() in ("", where.province.casefold())
                for r in picked.regions
            )
            if not result.held:
                shipped[line.source_id] += line.quantity
        for reason in (*result.hold_reasons, *(r for line in result.lines for r in line.reasons)):
            assert reason.code in REASON_TEXTS
            assert "?" not in describe(reason), reason
    for source_id, initial in stock.items():
        assert ledger.available(source_id) >= 0
        assert initial - ledger.available(source_id) == shipped[source_id]
    assert ledger.reserved == {sid: qty for sid, qty in shipped.items() if sid in stock and qty}


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_routing_is_deterministic(scenario):
    first, first_ledger = run_scenario(*scenario)
    second, second_ledger = run_scenario(*scenario)

    assert first == second
    assert first_ledger.reserved == second_ledger.reserved


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_source_verdict_reason_renders_with_all_its_parameters(scenario):
    results, _ = run_scenario(*scenario)

    for result in results:
        for line in result.lines:
            for verdict in line.considered:
                for reason in verdict.reasons:
                    assert reason.code in REASON_TEXTS
                    assert "?" not in describe(reason), reason

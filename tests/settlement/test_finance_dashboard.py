"""The top of the settlement index: statements by state, payouts left to reconcile and margin by store, each per
currency and equal to the pages they come from; tenant B never counts; only finance (and the owner) get in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels.payouts import PayoutRow
from inventory.models import Source
from orders.models import Order
from settlement import reconciliation as rec
from settlement.models import Period, Statement
from settlement.payouts import payout_rows_import
from suppliers.dispatches import dispatch_ids_allocate, dispatch_number
from suppliers.models import Dispatch, DispatchLine
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.inventory.factories import ProductFactory, SourceFactory
from tests.orders.factories import OrderFactory

D = Decimal
OCT = dt.date(2026, 10, 1)
PLACED = dt.datetime(2026, 10, 10, 4, 0, tzinfo=dt.UTC)
HOSTILE = "<script>alert(1)</script> & Co"


@pytest.fixture
def finance_browser(in_a, finance, client_for):
    return client_for(in_a, finance)


def _order(store, number: str, price: str, currency: str = "USD", items=None) -> Order:
    return OrderFactory(
        store=store, external_id=number, order_number=f"#{number}", price=price, currency=currency,
        placed_at=PLACED, **({"items": items} if items else {}),
    )  # fmt: skip


def _paid(store, finance, *rows: tuple[str, str]) -> None:
    payout_rows = [
        PayoutRow(
            kind="charge",
            occurred_at=PLACED + dt.timedelta(days=1),
            currency="USD",
            amount=D(amount),
            fee=D(0),
            reference=f"T-{number}",
            order_number=f"#{number}",
        )
        for number, amount in rows
    ]
    report = payout_rows_import(
        store=store, source="shopify_csv", name="oct.csv", digest=f"d-{store.pk}", rows=payout_rows, user=finance
    )
    assert report.ok


def _shipped_at_cost(order: Order, supplier, *, unit_cost: str) -> None:
    line = order.lines.get()
    product = ProductFactory(sku=f"P-{order.pk}")
    source: Source = SourceFactory(product=product, supplier=supplier, currency=order.currency)
    (pk,) = dispatch_ids_allocate(count=1)
    dispatch = Dispatch.objects.create(
        pk=pk, number=dispatch_number(pk), supplier=supplier, status="shipped", shipped_at=PLACED
    )
    DispatchLine.objects.create(
        dispatch=dispatch, order=order, order_line=line, product=product, source=source, quantity=line.quantity,
        unit_cost=D(unit_cost), cost_currency=order.currency, listing_sku=line.listing_sku,
    )  # fmt: skip


def _rows(chart) -> list[list[str]]:
    return [[cell.text for cell in row] for row in chart.table.rows]


def test_statements_by_state_count_per_state_and_amounts_per_currency(in_a, finance_browser, october, acme, bolt):
    Statement.objects.create(
        period=october, supplier=acme, currency="USD", number="S-1", status="issued", total=D("100.50")
    )
    Statement.objects.create(
        period=october, supplier=bolt, currency="CNY", number="S-2", status="issued", total=D("200")
    )
    Statement.objects.create(period=october, supplier=acme, currency="CNY", number="S-3", status="draft", total=D("7"))

    response = finance_browser.get("/settlement/")

    assert response.status_code == 200
    fin = response.context["finance"]
    assert _rows(fin.statements_chart) == [
        ["Draft", "1"], ["Issued", "2"], ["Confirmed", "0"], ["Disputed", "0"], ["Paid", "0"],
    ]  # fmt: skip
    html = response.content.decode()
    assert 'data-state="issued" data-currency="USD"' in html and "100.50 USD" in html and "200.00 CNY" in html
    assert "300.50" not in html  # two currencies are never added


def test_payouts_left_to_reconcile_per_currency_equal_the_reconciliation_summary(in_a, finance_browser, finance):
    main = StoreFactory(name="Main shop")
    _order(main, "1001", "100.00")  # matched
    _order(main, "1002", "30.00")  # unpaid
    _order(main, "1003", "25.00")  # paid 24.99: differs
    _paid(main, finance, ("1001", "100.00"), ("1003", "24.99"))
    tokyo = StoreFactory(name="Tokyo shop")
    _order(tokyo, "2001", "1200", currency="JPY")  # unpaid, in yen

    response = finance_browser.get("/settlement/")

    fin = response.context["finance"]
    assert fin.unreconciled.month == OCT
    by_currency = {row["currency"]: row for row in fin.unreconciled_currencies}
    assert (by_currency["USD"]["orders"], by_currency["USD"]["outstanding"]) == (2, D("30.01"))
    assert (by_currency["JPY"]["orders"], by_currency["JPY"]["outstanding"]) == (1, D("1200"))
    summary = rec.reconcile_summary(scope=rec.Scope(store=main, month=OCT))
    expected = sum(s.expected - s.received for s in summary.states if s.state in ("unpaid", "differs"))
    assert by_currency["USD"]["outstanding"] == expected
    html = response.content.decode()
    assert 'data-outstanding="USD">30.01 USD' in html and 'data-outstanding="JPY">1,200 JPY' in html
    assert [chart.title for chart in fin.unreconciled_charts] == [
        "Payouts left to reconcile, 2026-10, JPY", "Payouts left to reconcile, 2026-10, USD",
    ]  # fmt: skip
    assert _rows(fin.unreconciled_charts[1]) == [["Main shop", "30.01"]]


def test_margin_by_store_of_the_last_closed_month(in_a, finance_browser, october, acme):
    Period.objects.filter(pk=october.pk).update(status="closed", closed_at=timezone.now())
    store = StoreFactory(name="Main shop")
    _shipped_at_cost(_order(store, "1001", "10.00", items=(("MUG", 2),)), acme, unit_cost="4.00")

    response = finance_browser.get("/settlement/")

    margins = response.context["finance"].margins
    assert margins.month == OCT
    (chart,) = margins.charts
    assert chart.table.headers == ("Store", "Sale", "Cost", "Margin")
    assert _rows(chart) == [["Main shop", "20.00", "8.00", "12.00"]]
    assert 'data-margin="USD">12.00 USD · 60.00%' in response.content.decode()


def test_an_empty_tenant_gets_empty_states(in_a, finance_browser):
    html = finance_browser.get("/settlement/").content.decode()

    assert "No statement yet." in html
    assert 'data-unreconciled="none"' in html
    assert "No month is closed yet." in html
    assert "<svg" not in html


def test_tenant_b_never_counts(in_a, tenant_b, finance_browser, october, acme):
    with in_tenant(tenant_b):
        b_store = StoreFactory(name="Beta shop")
        _order(b_store, "9001", "500.00")

    fin = finance_browser.get("/settlement/").context["finance"]

    assert fin.unreconciled.rows == [] and fin.statements == []


def test_names_are_escaped(in_a, finance_browser):
    _order(StoreFactory(name=HOSTILE), "1001", "30.00")

    html = finance_browser.get("/settlement/").content.decode()

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


@pytest.mark.parametrize("role", ["operator", "supplier"])
def test_console_and_supplier_users_are_refused(in_a, make_user, client_for, acme, role):
    user = make_user(in_a, role, supplier=acme if role == "supplier" else None)

    assert client_for(in_a, user).get("/settlement/").status_code == 403


def test_the_owner_gets_in(in_a, client_for):
    owner = User.objects.get(email="owner@alpha.test")

    assert client_for(in_a, owner).get("/settlement/").status_code == 200


def test_queries_grow_only_with_stores_as_the_reconciliation_summary_does(
    in_a, finance_browser, october, acme, django_assert_max_num_queries
):
    Period.objects.filter(pk=october.pk).update(status="closed", closed_at=timezone.now())
    for n in range(3):
        store = StoreFactory()
        for k in range(3):
            _shipped_at_cost(_order(store, f"{n}-{k}", "10.00"), acme, unit_cost="4.00")

    with django_assert_max_num_queries(30):
        response = finance_browser.get("/settlement/")

    assert response.status_code == 200

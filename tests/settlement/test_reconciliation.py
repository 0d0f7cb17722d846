"""Receivables against payouts (对账) and write-off (核销): states, differences, tolerance, idempotent imports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from channels.payouts import PayoutRow
from orders.models import Order
from settlement import reconciliation as rec
from settlement.models import PayoutImport, PayoutItem, WriteOff
from settlement.payouts import payout_rows_import, payouts_rematch
from tests.channels.factories import StoreFactory
from tests.orders.factories import OrderFactory

NOV = dt.date(2026, 11, 1)
PLACED = dt.datetime(2026, 11, 5, 4, 0, tzinfo=dt.UTC)
PAID = dt.datetime(2026, 11, 6, 4, 0, tzinfo=dt.UTC)
D = Decimal


def order(store, number: str, price: str, **fields) -> Order:
    return OrderFactory(
        store=store, external_id=number, order_number=f"#{number}", price=price, placed_at=PLACED, **fields
    )


def row(kind: str, number: str, amount: str, *, fee: str = "0", ref: str = "") -> PayoutRow:
    return PayoutRow(
        kind=kind,
        occurred_at=PAID,
        currency="USD",
        amount=D(amount),
        fee=D(fee),
        reference=ref or f"T-{kind}-{number}-{amount}",
        order_number=number and f"#{number}",
    )


@pytest.fixture
def month(in_a, finance):
    """A store with one order in each state, and a payout for them."""
    store = StoreFactory(name="Main shop")
    orders = {
        "paid": order(store, "1001", "100.00"),
        "refunded": order(store, "1002", "50.00", refunded_total=D("10.00")),
        "unpaid": order(store, "1003", "30.00"),
        "cancelled": order(store, "1004", "20.00", cancelled_at=PLACED, financial_status="refunded"),
        "chargeback": order(store, "1005", "80.00"),
        "short": order(store, "1006", "25.00"),
    }
    rows = [
        row("charge", "1001", "100.00", fee="3.20"),
        row("charge", "1002", "50.00", fee="1.75"),
        row("refund", "1002", "-10.00"),
        row("charge", "1005", "80.00", fee="2.62"),
        row("chargeback", "1005", "-80.00", fee="15.00"),
        row("charge", "1006", "24.99", fee="1.02"),
        row("charge", "9999", "20.00", fee="0.88"),  # an order Relay does not have
        row("transfer", "", "-203.52", ref="PAYOUT-1"),
    ]
    report = payout_rows_import(store=store, source="shopify_csv", name="nov.csv", digest="d1", rows=rows, user=finance)
    assert report.ok and report.imported == 8 and report.matched == 6
    return store, orders, rec.Scope(store=store, month=NOV)


def by_number(scope) -> dict[str, rec.ReconcileRow]:
    return {r.order_number: r for r in rec.reconcile_rows(scope=scope)}


def test_each_order_lands_in_one_state_with_its_difference(month):
    _store, _orders, scope = month

    rows = by_number(scope)

    assert {n: r.state for n, r in rows.items()} == {
        "#1001": "matched",
        "#1002": "matched",  # 50 charged − 10 refunded = 50 − 10 refunded on the channel
        "#1003": "unpaid",
        "#1004": "nothing_due",
        "#1005": "differs",
        "#1006": "differs",
    }
    assert rows["#1005"].difference == D("-80.00")
    assert rows["#1005"].chargebacks == D("-80.00") and rows["#1005"].fees == D("17.62")
    assert rows["#1006"].difference == D("-0.01")
    assert rows["#1002"].expected == D("40.00") and rows["#1002"].refunded == D("-10.00")
    assert rows["#1004"].expected == 0


def test_summary_adds_up_and_shows_fees_refunds_chargebacks_apart(month):
    _store, _orders, scope = month

    summary = rec.reconcile_summary(scope=scope)

    states = {s.state: s for s in summary.states}
    assert sum(s.orders for s in summary.states) == 6
    assert sum(s.expected for s in summary.states) == D("100") + D("40") + D("30") + D("80") + D("25")
    assert states["differs"].received - states["differs"].expected == D("-80.01")
    kinds = {k.kind: k for k in summary.kinds}
    assert kinds["chargeback"].amount == D("-80.00") and kinds["refund"].amount == D("-10.00")
    assert kinds["charge"].fees == D("9.47") and kinds["transfer"].amount == D("-203.52")
    assert summary.payout_only == 1
    (only,) = rec.payout_only_items(scope=scope)
    assert only.order_number == "#9999" and only.amount == D("20.00")


def test_the_same_import_again_changes_nothing_and_overlaps_are_not_doubled(month, finance):
    store, _orders, scope = month
    before = list(PayoutItem.objects.order_by("id").values_list("id", "amount"))

    again = payout_rows_import(store=store, source="shopify_csv", name="nov.csv", digest="d1", rows=[], user=finance)
    overlap = payout_rows_import(
        store=store,
        source="shopify_csv",
        name="nov-and-dec.csv",
        digest="d2",
        rows=[row("charge", "1001", "100.00", fee="3.20"), row("charge", "1003", "30.00")],
        user=finance,
    )

    assert again.already is not None and again.imported == 0
    assert overlap.imported == 1 and overlap.skipped == 1
    assert (
        list(PayoutItem.objects.filter(id__in=[i for i, _a in before]).order_by("id").values_list("id", "amount"))
        == before
    )
    assert PayoutImport.objects.count() == 2
    assert by_number(scope)["#1003"].state == "matched"


def test_write_off_within_tolerance_and_refusals(month, finance):
    store, orders, scope = month
    rec.tolerance_set(store=store, tolerance=D("0.01"))
    assert rec.writable_count(scope=scope) == 3

    refused = rec.write_off_orders(store=store, order_ids=[orders["chargeback"].pk, orders["unpaid"].pk], user=finance)
    assert refused.written == 0 and WriteOff.objects.count() == 0
    reasons = dict(refused.refused)
    assert "more than the tolerance" in reasons["#1005"] and "Nothing was paid" in reasons["#1003"]

    written = rec.write_off_within_tolerance(scope=scope, user=finance, note="November")
    assert written == 3
    short = WriteOff.objects.get(order=orders["short"])
    assert short.difference == D("-0.01") and short.expected == D("25.00") and short.by_label == finance.email
    assert by_number(scope)["#1006"].state == "written_off"
    assert rec.write_off_within_tolerance(scope=scope, user=finance) == 0  # nothing left; nothing doubled

    assert rec.write_off_undo(store=store, order_id=orders["short"].pk)
    assert by_number(scope)["#1006"].state == "differs"


def test_orders_of_another_store_are_not_written_off(month, finance):
    _store, orders, _scope = month
    other = StoreFactory(name="Other shop")

    report = rec.write_off_orders(store=other, order_ids=[orders["paid"].pk], user=finance)

    assert report.written == 0 and WriteOff.objects.count() == 0
    assert report.refused and "not this store's" in report.refused[0][1]


def test_an_order_arriving_after_its_payout_is_matched_again(month, finance):
    store, _orders, scope = month
    assert PayoutItem.objects.get(order_number="#9999").order_id is None

    late = order(store, "9999", "20.00")
    matched = payouts_rematch(store=store)

    assert matched == 1
    assert PayoutItem.objects.get(order_number="#9999").order_id == late.pk
    assert by_number(scope)["#9999"].state == "matched"
    assert rec.reconcile_summary(scope=scope).payout_only == 0


def test_export_table_totals_equal_the_page(month):
    store, _orders, scope = month

    table = rec.export_table({"store": store.pk, "month": "2026-11"})
    rows = list(table.rows)

    assert table.count == len(rows) == 6
    expected_index = list(table.columns).index("Expected")
    assert sum(r[expected_index] for r in rows) == sum(s.expected for s in rec.reconcile_summary(scope=scope).states)


def test_the_export_of_a_searched_view_has_only_what_the_page_shows(month):
    store, _orders, scope = month

    table = rec.export_table({"store": store.pk, "month": "2026-11", "q": "1003"})

    assert table.count == 1
    assert [row[0] for row in table.rows] == ["#1003"]
    assert [r.order_number for r in rec.reconcile_rows(scope=scope, search="1003")] == ["#1003"]


def test_the_export_writes_amounts_with_the_currency_s_decimals(month):
    store, _orders, _scope = month

    table = rec.export_table({"store": store.pk, "month": "2026-11"})

    money_columns = range(3, 10)
    for row in table.rows:
        for index in money_columns:
            value = row[index]
            assert value is None or value.as_tuple().exponent == -2, (row[0], table.columns[index], value)

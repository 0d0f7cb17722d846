"""The order list: Relay status and payment filters, sorting, and CSV/XLSX downloads of exactly what is filtered."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
from django.utils import translation

from orders.models import Order
from orders.selectors import FULFILMENT_LABELS, TRIGGER_LABELS, label_of, payment_label
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.orders.factories import OrderFactory

T = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def _order(store, number, *, status="new", payment="paid", minutes=0, buyer="Ada", price="10.00"):
    order = OrderFactory(
        store=store, external_id=number, order_number=number, placed_at=T + dt.timedelta(minutes=minutes),
        buyer_name=buyer, price=price,
    )  # fmt: skip
    Order.objects.filter(pk=order.pk).update(status=status, financial_status=payment)
    return order


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _xlsx(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


def _numbers(console, query: str) -> list[str]:
    return [order.order_number for order in console.get(f"/orders/?{query}").context["page"].orders]


def test_status_column_says_where_the_order_is_in_relay_with_payment_beside_it(console, store):
    _order(store, "#1", status="held", payment="paid")

    body = console.get("/orders/").content.decode()

    assert "Held for review" in body
    assert 'badge muted">paid<' in body


def test_filter_by_relay_status_and_payment_combined_with_a_sort(console, store):
    # given orders in several Relay states, paid or refunded on the channel
    _order(store, "#A", status="held", payment="paid", minutes=1, buyer="Zed")
    _order(store, "#B", status="held", payment="paid", minutes=2, buyer="Amy")
    _order(store, "#C", status="held", payment="refunded", minutes=3, buyer="Bob")
    _order(store, "#D", status="routed", payment="paid", minutes=4, buyer="Cat")
    _order(store, "#E", status="shipped", payment="paid", minutes=5, buyer="Dan")

    # then each filter (and their combination) keeps its orders, in the order asked for
    assert _numbers(console, "status=held") == ["#C", "#B", "#A"]  # newest first by default
    assert _numbers(console, "status=held&payment=paid&sort=buyer") == ["#B", "#A"]
    assert _numbers(console, "status=held&payment=paid&sort=-buyer") == ["#A", "#B"]
    assert _numbers(console, "status=open&sort=number") == ["#A", "#B", "#C", "#D"]
    assert _numbers(console, "payment=refunded") == ["#C"]


def test_a_cancelled_order_counts_as_cancelled_whatever_its_status(console, store):
    order = _order(store, "#X", status="routed")
    Order.objects.filter(pk=order.pk).update(cancelled_at=T)
    _order(store, "#Y", status="routed")

    assert _numbers(console, "status=cancelled") == ["#X"]
    assert _numbers(console, "status=routed") == ["#Y"]


def test_filters_keep_their_values_and_the_sort(console, store):
    _order(store, "#1", status="held")

    body = console.get("/orders/?status=held&payment=paid&q=%231&sort=number").content.decode()

    assert '<option value="held" selected>' in body
    assert '<option value="paid" selected>' in body
    assert 'value="#1"' in body
    assert 'name="sort" value="number"' in body
    assert "status=held&amp;payment=paid&amp;q=%231&amp;sort=number&amp;export=csv" in body


def test_an_empty_filtered_list_says_what_to_do(console, store):
    _order(store, "#1", status="held")

    body = console.get("/orders/?status=shipped").content.decode()

    assert "No orders match" in body and 'href="/orders/"' in body


def test_csv_export_holds_exactly_the_filtered_orders_in_the_tenants_time(console, store):
    # given two held orders, one routed, and a buyer name a spreadsheet would run as a formula
    _order(store, "#1", status="held", minutes=0, buyer='=HYPERLINK("http://x")', price="107.00")
    _order(store, "#2", status="held", minutes=1)
    _order(store, "#3", status="routed", minutes=2)

    # when the held ones are downloaded as CSV
    response = console.get("/orders/?status=held&export=csv")

    # then exactly they are in it, newest first, with the total, its currency and both statuses
    rows = _csv(response)
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    assert rows[0] == [
        "Order", "Store", "Placed", "Buyer", "Buyer e-mail", "Ship to name", "Ship to", "Total", "Currency",
        "Status in Relay", "Payment",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == ["#2", "#1"]
    first = rows[2]
    assert first[2] == "2026-10-01 20:00:00"  # 12:00 UTC in Shanghai
    assert first[3].startswith("'=HYPERLINK")  # neutralised
    assert (first[7], first[8], first[9], first[10]) == ("107.000", "USD", "Held for review", "paid")


def test_xlsx_export_holds_the_same_rows_with_amounts_as_numbers(console, store):
    _order(store, "#1", status="held", price="107.00")
    _order(store, "#2", status="routed")

    rows = _xlsx(console.get("/orders/?status=held&export=xlsx"))

    assert len(rows) == 2
    assert rows[1][0] == "#1" and rows[1][7] == Decimal("107") and rows[1][8] == "USD"
    assert rows[1][2] == dt.datetime(2026, 10, 1, 20, 0)


def test_exports_never_hold_another_tenants_orders(console, tenant_b, store):
    _order(store, "#MINE")
    with in_tenant(tenant_b):
        _order(StoreFactory(name="B"), "#THEIRS")

    rows = _csv(console.get("/orders/?export=csv"))

    assert [row[0] for row in rows[1:]] == ["#MINE"]


def test_supplier_and_finance_cannot_download_orders(tenant_a, make_user, make_supplier, client_for, store):
    _order(store, "#1")
    supplier = make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))
    for user in (supplier, make_user(tenant_a, "finance")):
        response = client_for(tenant_a, user).get("/orders/?export=csv")
        assert response.status_code == 403
        assert b"#1" not in response.content


def test_channel_statuses_and_decision_triggers_read_in_the_reader_s_language():
    with translation.override("en"):
        assert (payment_label("partially_refunded"), label_of(FULFILMENT_LABELS, "partial")) == (
            "partly refunded", "partly fulfilled",
        )  # fmt: skip
        assert label_of(TRIGGER_LABELS, "ingest") == "on arrival"
        assert (
            payment_label("something_new") == "something_new"
        )  # a word Relay does not know stays as the channel wrote it
    with translation.override("zh-hans"):
        assert payment_label("paid") == "已付款"
        assert label_of(FULFILMENT_LABELS, "fulfilled") != "fulfilled"
        assert label_of(TRIGGER_LABELS, "ingest") != "on arrival"

"""The margin report (settlement.margins): exact amounts on a hand-built order, currencies kept apart, the sum of
the groups equal to the totals, cost unknown counted and left out, the page, the API and the export; finance
only, and tenant B sees nothing of tenant A."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.canonical import ChannelOrderLine
from orders.models import Order, OrderLine, ReturnRecord
from settlement.margins import export_table as margins_export
from settlement.margins import margin_filter_from, margin_report, margin_totals
from suppliers.dispatches import dispatch_ids_allocate, dispatch_number
from suppliers.models import Dispatch, DispatchLine
from tests.conftest import in_tenant
from tests.inventory.factories import ProductFactory, SourceFactory
from tests.orders.factories import OrderFactory
from tests.suppliers.factories import SupplierFactory

D = Decimal
UTC = dt.UTC
URL = "/settlement/margins/"
API = "/api/v1/settlement/margins/"


def _order(
    store, *lines: tuple[str, int, str, str], currency="USD", discount="0", shipping="0", tax="0", **kw
) -> Order:
    """An order ingested as channels send it: lines are (SKU, quantity, unit price, line discount)."""
    channel_lines = tuple(
        ChannelOrderLine(external_id=str(n), listing_sku=sku, title=sku, quantity=qty, unit_price=D(price),
                         line_discount=D(line_discount))
        for n, (sku, qty, price, line_discount) in enumerate(lines, start=1)
    )  # fmt: skip
    return OrderFactory(
        store=store, currency=currency, lines=channel_lines, discount_total=D(discount), shipping_total=D(shipping),
        tax_total=D(tax), **kw,
    )  # fmt: skip


def _line(order: Order, sku: str) -> OrderLine:
    return order.lines.get(listing_sku=sku)


def _part(supplier, line: OrderLine | None, product, *, quantity: int, cost: str, status="shipped", currency=None,
          order: Order | None = None) -> DispatchLine:  # fmt: skip
    """A dispatch of ``supplier`` (None: own warehouse) in ``status`` with one line (a gift when ``line`` is None)."""
    order = order or line.order
    (pk,) = dispatch_ids_allocate(count=1)
    dispatch = Dispatch.objects.create(
        pk=pk, number=dispatch_number(pk), supplier=supplier, status=status,
        shipped_at=dt.datetime(2026, 11, 5, tzinfo=UTC) if status == "shipped" else None,
    )  # fmt: skip
    return DispatchLine.objects.create(
        dispatch=dispatch, order=order, order_line=line, product=product,
        source=SourceFactory(product=product, supplier=supplier), quantity=quantity, unit_cost=D(cost),
        cost_currency=currency or order.currency, listing_sku=line.listing_sku if line else "GIFT", is_gift=line is None,
    )  # fmt: skip


def _report(group="order", **params):
    flt = margin_filter_from({"group": group, **params})
    return flt, margin_totals(flt=flt)


def _all_groups(flt, size=2) -> list:
    rows, after = [], ""
    while True:
        page = margin_report(flt=flt, after=after, size=size)
        rows += page.rows
        if not page.next_cursor:
            return rows
        after = page.next_cursor


def _figures(row) -> tuple:
    return (row.sale, row.cost, row.margin)


@pytest.fixture
def cato(in_a):
    return SupplierFactory(label="Cato")


@pytest.fixture
def products(in_a) -> dict:
    return {sku: ProductFactory(sku=sku, name=f"Product {sku}") for sku in ("TEE", "MUG", "GIFT", "A", "B", "X")}


@pytest.fixture
def sold(store, acme, bolt, cato, products) -> Order:
    """A USD order: a tee 1 × 10.00, mugs 3 × 20.00 with 6.00 off the line; 6.41 off the order, 5.00 shipping,
    1.00 tax. Apportioned (goods after line discounts 10.00 : 54.00): discount 1.00 / 5.41, shipping 0.78 / 4.22,
    so the sale is 9.00 (tee) and 48.59 (mugs).

    The tee ships from Bolt at 4.005 (4.01). The mugs: Acme ships 2 at 8.125 (16.25); Bolt rejects 1 at 7.00,
    re-routed to Cato, who accepts it at 9.3333 (9.33). One mug comes back from Acme's parcel, 16.20 refunded:
    the mugs' sale is 32.39, Acme's cost 16.25 − 8.13 = 8.12.
    """
    order = _order(
        store, ("TEE", 1, "10.00", "0"), ("MUG", 3, "20.00", "6.00"), discount="12.41", shipping="5.00", tax="1.00",
        order_number="#M-1",
    )  # fmt: skip
    tee, mug = _line(order, "TEE"), _line(order, "MUG")
    _part(bolt, tee, products["TEE"], quantity=1, cost="4.005")
    acme_mugs = _part(acme, mug, products["MUG"], quantity=2, cost="8.125")
    _part(bolt, mug, products["MUG"], quantity=1, cost="7.00", status="rejected")
    _part(cato, mug, products["MUG"], quantity=1, cost="9.3333", status="accepted")
    ReturnRecord.objects.create(
        order=order, order_line=mug, dispatch_line=acme_mugs, listing_sku="MUG", quantity=1, amount=D("16.20"),
        currency="USD",
    )  # fmt: skip
    return order


# ---------------------------------------------------------------- the amounts


def test_apportionment_of_the_hand_built_order_is_as_computed_by_hand(sold):
    tee, mug = _line(sold, "TEE"), _line(sold, "MUG")

    assert (tee.discount_share, tee.shipping_share, tee.net_amount) == (D("1.00"), D("0.78"), D("9.78"))
    assert (mug.discount_share, mug.shipping_share, mug.net_amount) == (D("5.41"), D("4.22"), D("52.81"))


def test_order_margin_is_sale_net_of_discounts_and_refund_minus_standing_cost(sold):
    flt, totals = _report("order")

    (row,) = _all_groups(flt)
    assert (row.key, row.label, row.currency, row.lines) == (sold.pk, "#M-1", "USD", 2)
    assert _figures(row) == (D("41.39"), D("21.46"), D("19.93"))
    assert row.margin_percent == D("48.15")
    (usd,) = totals
    assert (usd.currency, usd.sale, usd.cost, usd.margin, usd.lines, usd.groups) == (
        "USD", D("41.39"), D("21.46"), D("19.93"), 2, 1,
    )  # fmt: skip
    assert (usd.unknown_lines, usd.unknown_sale) == (0, D("0.00"))


def test_split_line_shares_its_sale_by_quantity_and_the_rejected_dispatch_costs_nothing(sold, acme, bolt, cato):
    flt, _totals = _report("supplier")

    rows = {row.label: _figures(row) for row in _all_groups(flt)}

    assert rows == {
        acme.name: (D("21.59"), D("8.12"), D("13.47")),  # 2 of 3 mugs: 2159 of 3239 cents
        bolt.name: (D("9.00"), D("4.01"), D("4.99")),  # the tee only: its rejected mug is not there
        cato.name: (D("10.80"), D("9.33"), D("1.47")),
    }


def test_products_and_stores(sold, store, products):
    by_product = {row.label: _figures(row) for row in _all_groups(_report("product")[0])}
    (by_store,) = _all_groups(_report("store")[0])

    assert by_product == {"TEE": (D("9.00"), D("4.01"), D("4.99")), "MUG": (D("32.39"), D("17.45"), D("14.94"))}
    assert (by_store.key, by_store.label, _figures(by_store)) == (
        store.pk,
        store.name,
        (D("41.39"), D("21.46"), D("19.93")),
    )


def test_a_bundle_shares_its_sale_by_each_products_cost_and_a_gift_is_cost_without_sale(store, acme, products):
    order = _order(store, ("KIT", 1, "30.00", "0"))
    kit = _line(order, "KIT")
    _part(acme, kit, products["A"], quantity=2, cost="5.00")  # 10.00 of the bundle's 30.00 cost
    _part(acme, kit, products["B"], quantity=1, cost="20.00")
    _part(None, None, products["GIFT"], quantity=1, cost="1.50", order=order)

    by_product = {row.label: _figures(row) for row in _all_groups(_report("product")[0])}
    (by_order,) = _all_groups(_report("order")[0])
    by_supplier = {row.key: (row.label, _figures(row)) for row in _all_groups(_report("supplier")[0])}

    assert by_product == {
        "A": (D("10.00"), D("10.00"), D("0.00")),
        "B": (D("20.00"), D("20.00"), D("0.00")),
        "GIFT": (D("0.00"), D("1.50"), D("-1.50")),
    }
    assert _figures(by_order) == (D("30.00"), D("31.50"), D("-1.50"))
    assert by_supplier[None] == ("Own warehouse", (D("0.00"), D("1.50"), D("-1.50")))


def test_a_cancelled_shipped_order_refunded_whole_has_no_sale_and_the_return_takes_the_cost_back(store, acme, products):
    order = _order(store, ("X", 2, "15.00", "0"), shipping="4.00")
    line = _line(order, "X")
    shipped = _part(acme, line, products["X"], quantity=2, cost="6.00")
    ReturnRecord.objects.create(order=order, order_line=line, dispatch_line=shipped, listing_sku="X", quantity=2,
                                amount=line.net_amount, currency="USD")  # fmt: skip
    Order.objects.filter(pk=order.pk).update(status="cancelled")

    (row,) = _all_groups(_report("order")[0])

    assert line.net_amount == D("34.00")  # the refund paid back the shipping too: the sale stops at zero
    assert _figures(row) == (D("0.00"), D("0.00"), D("0.00")) and row.margin_percent is None


def test_currencies_are_never_added(sold, store, acme, products):
    cny = _order(store, ("X", 1, "100.00", "0"), currency="CNY")
    _part(acme, _line(cny, "X"), products["X"], quantity=1, cost="60.00")

    flt, totals = _report("store")

    assert [(t.currency, t.sale, t.cost, t.margin) for t in totals] == [
        ("CNY", D("100.00"), D("60.00"), D("40.00")),
        ("USD", D("41.39"), D("21.46"), D("19.93")),
    ]
    rows = _all_groups(flt)
    assert [(row.currency, row.key, row.sale) for row in rows] == [
        ("CNY", store.pk, D("100.00")),
        ("USD", store.pk, D("41.39")),
    ]
    (only_cny,) = _report("store", currency="cny")[1]
    assert only_cny.currency == "CNY"


@pytest.mark.parametrize("group", ["order", "product", "supplier", "store"])
def test_the_sum_of_the_groups_is_the_totals(sold, store, acme, bolt, products, group):
    for n in range(4):
        order = _order(store, ("X", n + 1, "12.34", "0"), ("TEE", 1, "7.77", "0.50"), discount="3.33", shipping="2.00")
        _part(acme if n % 2 else bolt, _line(order, "X"), products["X"], quantity=n + 1, cost="3.333")
        _part(None, _line(order, "TEE"), products["TEE"], quantity=1, cost="2.5")
    cny = _order(store, ("X", 3, "99.99", "0"), currency="CNY", discount="0.10")
    _part(acme, _line(cny, "X"), products["X"], quantity=2, cost="20.00", currency="CNY")
    _part(bolt, _line(cny, "X"), products["X"], quantity=1, cost="21.00", currency="CNY")

    flt, totals = _report(group)
    rows = _all_groups(flt, size=2)

    for total in totals:
        mine = [row for row in rows if row.currency == total.currency]
        assert len(mine) == total.groups
        assert sum(row.sale for row in mine) == total.sale
        assert sum(row.cost for row in mine) == total.cost
        assert sum(row.margin for row in mine) == total.margin
    assert {t.currency for t in totals} == {"USD", "CNY"}
    assert margin_report(flt=flt, size=2).totals == totals  # the page's own totals, from the same query


def test_cost_unknown_lines_are_counted_and_left_out(store, acme, products):
    order = _order(store, ("X", 1, "10.00", "0"), ("TEE", 1, "8.00", "0"), ("MUG", 1, "6.00", "0"))
    _part(acme, _line(order, "X"), products["X"], quantity=1, cost="4.00")
    _part(acme, _line(order, "MUG"), products["MUG"], quantity=1, cost="30.00", currency="CNY")  # another currency
    # TEE: not routed (held). A cancelled order never routed is not in the report at all.
    cancelled = _order(store, ("X", 1, "50.00", "0"))
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")

    flt, (usd,) = _report("order")

    assert (usd.sale, usd.cost, usd.lines) == (D("10.00"), D("4.00"), 1)
    assert (usd.unknown_lines, usd.unknown_sale) == (2, D("14.00"))
    (row,) = _all_groups(flt)
    assert _figures(row) == (D("10.00"), D("4.00"), D("6.00"))
    # A supplier's report leaves out what is not routed, and keeps that supplier's line in another currency.
    (of_acme,) = _report("order", supplier=str(acme.pk))[1]
    assert (of_acme.unknown_lines, of_acme.unknown_sale) == (1, D("6.00"))


def test_the_supplier_filter_keeps_that_suppliers_share_only(sold, acme):
    (usd,) = _report("order", supplier=str(acme.pk))[1]
    own = _report("order", supplier="own")[1]

    assert (usd.sale, usd.cost, usd.margin) == (D("21.59"), D("8.12"), D("13.47"))
    assert own == []


def test_days_are_the_tenants_and_default_to_the_current_month(store, acme, products):
    first = _order(store, ("X", 1, "10.00", "0"), placed_at=dt.datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    _order(
        store, ("X", 1, "20.00", "0"), placed_at=dt.datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    )  # 1 December, Shanghai
    _order(
        store, ("X", 1, "40.00", "0"), placed_at=dt.datetime(2026, 10, 31, 15, 30, tzinfo=UTC)
    )  # 31 October, Shanghai
    for order in Order.objects.all():
        _part(acme, order.lines.get(), products["X"], quantity=1, cost="1.00")

    flt, (usd,) = _report("order")
    (october,) = _report("order", placed_from="2026-10-01", placed_to="2026-10-31")[1]

    assert (flt.placed_from, flt.placed_to) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [row.key for row in _all_groups(flt)] == [first.pk]
    assert usd.sale == D("10.00") and october.sale == D("40.00")


def test_groups_page_by_margin_or_sale_both_ways_and_back(store, acme, products):
    for n, (price, cost) in enumerate([("10.00", "1.00"), ("20.00", "15.00"), ("30.00", "2.00"), ("40.00", "39.00"),
                                       ("50.00", "10.00")]):  # fmt: skip
        order = _order(store, ("X", 1, price, "0"), order_number=f"#P-{n}")
        _part(acme, _line(order, "X"), products["X"], quantity=1, cost=cost)
    flt = margin_filter_from({"group": "order"})

    first = margin_report(flt=flt, size=2)
    second = margin_report(flt=flt, after=first.next_cursor, size=2)
    third = margin_report(flt=flt, after=second.next_cursor, size=2)
    back = margin_report(flt=flt, before=third.prev_cursor, size=2)

    assert [row.label for row in first.rows + second.rows + third.rows] == ["#P-4", "#P-2", "#P-0", "#P-1", "#P-3"]
    assert first.prev_cursor is None and third.next_cursor is None
    assert [row.label for row in back.rows] == ["#P-0", "#P-1"]
    by_sale_up = _all_groups(margin_filter_from({"group": "order", "sort": "sale", "direction": "asc"}))
    assert [row.label for row in by_sale_up] == ["#P-0", "#P-1", "#P-2", "#P-3", "#P-4"]
    assert margin_report(flt=flt, after="not-a-cursor", size=2).rows == first.rows


# ---------------------------------------------------------------- the page, the API and the export


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


def test_page_shows_tabs_totals_groups_and_cost_unknown(sold, store, cato, products, browser):
    _order(store, ("HELD", 1, "5.00", "0"))

    page = browser.get(URL, {"group": "supplier"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "41.39 USD" in text and "19.93 USD" in text and "48.15 %" in text
    assert "13.47" in text and cato.name in text
    assert "1 line (5.00 USD sale)" in text and "Holds" not in text  # finance cannot open the console's holds
    for group in ("order", "product", "supplier", "store"):
        assert f"group={group}" in text
    assert 'href="/settlement/margins/"' in browser.get("/settlement/").content.decode()


def test_owner_follows_the_cost_unknown_link_to_the_holds(sold, store, in_a, make_user, client_for):
    _order(store, ("HELD", 1, "5.00", "0"))
    owner = client_for(in_a, make_user(in_a, "owner"))

    text = owner.get(URL).content.decode()

    assert 'href="/orders/holds/"' in text and f'href="/orders/{sold.pk}/"' in text


def test_page_with_a_bad_filter_says_why(sold, browser):
    response = browser.get(URL, {"placed_from": "2026-11-10", "placed_to": "2026-11-01", "currency": "RMB"})

    assert response.status_code == 400
    text = response.content.decode()
    assert "must not be after" in text and "use CNY" in text


def test_page_queries_do_not_grow_with_groups(store, acme, products, browser):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(URL).status_code == 200
        return len(queries)

    order = _order(store, ("X", 1, "10.00", "0"))
    _part(acme, _line(order, "X"), products["X"], quantity=1, cost="1.00")
    few = count()
    for _n in range(8):
        order = _order(store, ("X", 1, "10.00", "0"), ("TEE", 2, "3.00", "0"))
        _part(SupplierFactory(), _line(order, "X"), products["X"], quantity=1, cost="1.00")

    assert count() == few


def test_api_gives_groups_totals_and_cursors(sold, acme, bolt, cato, in_a, finance, api_for):
    api = api_for(in_a, finance)
    after_first = margin_report(flt=margin_filter_from({"group": "supplier", "sort": "sale"}), size=1).next_cursor

    body = api.get(API, {"group": "supplier", "sort": "sale"}).json()
    rest = api.get(API, {"group": "supplier", "sort": "sale", "after": after_first}).json()

    assert body["totals"] == [{
        "currency": "USD", "sale": "41.39", "cost": "21.46", "margin": "19.93", "margin_percent": "48.15",
        "lines": 2, "groups": 3, "cost_unknown_lines": 0, "cost_unknown_sale": "0.00",
    }]  # fmt: skip
    assert [(r["id"], r["label"], r["sale"], r["cost"], r["margin"]) for r in body["results"]] == [
        (acme.pk, acme.name, "21.59", "8.12", "13.47"),
        (cato.pk, cato.name, "10.80", "9.33", "1.47"),
        (bolt.pk, bolt.name, "9.00", "4.01", "4.99"),
    ]
    assert body["next"] is None and body["previous"] is None
    assert [r["id"] for r in rest["results"]] == [cato.pk, bolt.pk] and rest["previous"]


def test_api_refuses_a_bad_filter(sold, in_a, finance, api_for):
    response = api_for(in_a, finance).get(API, {"group": "planet", "store": "x"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"group", "store"}


def test_export_table_streams_the_groups_of_the_same_filter(sold, acme, bolt, cato):
    table = margins_export({"group": "supplier", "sort": "margin"})

    rows = list(table.rows)
    assert table.count == 3 and len(table.columns) == 8
    assert [row[1] for row in rows] == [acme.name, bolt.name, cato.name]
    assert sum(row[6] for row in rows) == D("19.93")
    assert rows[0] == ("USD", acme.name, acme.code, 1, D("21.59"), D("8.12"), D("13.47"), D("62.39"))


def test_export_table_refuses_bad_params(in_a):
    with pytest.raises(ValidationError) as refused:
        margins_export({"group": "planet"})

    assert "group" in refused.value.message_dict


# ---------------------------------------------------------------- who may see it


@pytest.mark.parametrize("role", ["finance", "owner"])
def test_finance_and_owner_may_read(sold, in_a, make_user, client_for, api_for, role):
    user = make_user(in_a, role)

    assert client_for(in_a, user).get(URL).status_code == 200
    assert api_for(in_a, user).get(API).status_code == 200


def test_console_and_supplier_users_are_refused(sold, in_a, acme, operator, make_user, client_for, api_for):
    supplier_user = make_user(in_a, "supplier", supplier=acme)

    for user in (operator, supplier_user):
        assert client_for(in_a, user).get(URL).status_code == 403
        response = api_for(in_a, user).get(API)
        assert response.status_code == 403 and "results" not in response.json()


def test_anonymous_is_sent_to_log_in(in_a, client_for):
    response = client_for(in_a).get(URL)

    assert response.status_code == 302 and "login" in response["Location"]
    assert client_for(in_a).get(API).status_code in (401, 403)


def test_tenant_b_finance_sees_none_of_tenant_as_rows(sold, cato, tenant_b, make_user, client_for, api_for):
    b_finance = make_user(tenant_b, "finance")

    page = client_for(tenant_b, b_finance).get(URL, {"group": "supplier"})
    body = api_for(tenant_b, b_finance).get(API).json()

    assert page.status_code == 200
    text = page.content.decode()
    assert "#M-1" not in text and "41.39" not in text and cato.name not in text
    assert body["totals"] == [] and body["results"] == []
    with in_tenant(tenant_b):
        assert margins_export({"group": "order"}).count == 0

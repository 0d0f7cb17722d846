"""Orders list (filters, keyset pagination, query count) and detail; API; roles and tenant isolation."""

import datetime as dt
from decimal import Decimal

from orders.models import Order
from orders.services import orders_upsert
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.orders.factories import ChannelOrderFactory

T = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def seed(store, n, *, prefix="N", start=T):
    """n orders of the store, one a minute from start, each with the two discounted lines and its own buyer."""
    batch = [
        (
            ChannelOrderFactory.build(
                discounted=True, external_id=f"{prefix}-{i:04d}", placed_at=start + dt.timedelta(minutes=i),
                updated_at=T, buyer_name=f"Buyer {i}", buyer_email=f"b{i}@shop.test",
            ),
            {"i": i},
        )
        for i in range(n)
    ]  # fmt: skip
    orders_upsert(store_id=store.pk, orders=batch)


def test_paging_through_every_order_sees_each_once(console, store):
    seed(store, 120)
    seen, query = [], ""
    for _ in range(10):
        page = console.get(f"/orders/?{query}").context["page"]
        seen += [o.external_id for o in page.orders]
        if not page.next_cursor:
            break
        query = f"after={page.next_cursor}"
    assert len(seen) == 120
    assert len(set(seen)) == 120
    assert seen[0] == "N-0119"  # newest first


def test_previous_page_returns_to_the_same_orders(console, store):
    seed(store, 120)
    first = console.get("/orders/").context["page"]
    second = console.get(f"/orders/?after={first.next_cursor}").context["page"]
    back = console.get(f"/orders/?before={second.prev_cursor}").context["page"]
    assert [o.pk for o in back.orders] == [o.pk for o in first.orders]


def test_a_cursor_we_did_not_make_gives_the_first_page(console, store):
    seed(store, 60)
    first = [o.pk for o in console.get("/orders/").context["page"].orders]

    for cursor in ("not-base64!", "WzFd", "WyJub3QgYSBkYXRlIiwgMV0="):  # garbage, [1], ["not a date", 1]
        response = console.get(f"/orders/?after={cursor}")
        assert response.status_code == 200
        assert [o.pk for o in response.context["page"].orders] == first


def test_list_page_query_count_does_not_grow_with_orders(console, store, django_assert_max_num_queries):
    seed(store, 60)
    with django_assert_max_num_queries(12):
        assert console.get("/orders/").status_code == 200


def test_filters_by_store_search_and_date(console, store, tenant_a):
    seed(store, 5)
    other = StoreFactory(name="Second")
    seed(other, 3, prefix="O", start=T + dt.timedelta(days=3))

    by_store = console.get(f"/orders/?store={other.pk}").context["page"].orders
    assert {o.store_id for o in by_store} == {other.pk}
    assert [o.external_id for o in console.get("/orders/?q=%23N-0003").context["page"].orders] == ["N-0003"]
    assert [o.external_id for o in console.get("/orders/?q=b4@shop").context["page"].orders] == ["N-0004"]
    assert len(console.get("/orders/?placed_from=2026-10-04").context["page"].orders) == 3


def test_bad_filter_input_is_shown_not_crashed(console, store):
    response = console.get("/orders/?placed_from=2026-10-09&placed_to=2026-10-01")
    assert response.status_code == 200
    assert "must not be after" in response.content.decode()


def test_order_detail_shows_apportioned_lines_and_raw_payload(console, store):
    seed(store, 1)
    order = Order.objects.get()
    body = console.get(f"/orders/{order.pk}/").content.decode()
    assert "−1.20" in body and "−1.80" in body  # discount shares
    assert f"{order.total:,.2f} {order.currency}" in body  # money in the currency's decimals, never "107.000"
    assert f"{order.total:.3f} " not in body
    assert "&quot;i&quot;: 0" in body


def test_api_lists_and_shows_orders_with_lines(store, tenant_a, make_user, api_for):
    seed(store, 3)
    client = api_for(tenant_a, make_user(tenant_a, "owner"))
    listed = client.get("/api/v1/orders/").json()
    assert len(listed["results"]) == 3
    detail = client.get(f"/api/v1/orders/{listed['results'][0]['id']}/").json()
    assert sum(Decimal(l["net_amount"]) for l in detail["lines"]) == Decimal(detail["subtotal"]) - Decimal(
        detail["discount_total"]
    ) + Decimal(detail["shipping_total"])


def test_orders_of_tenant_b_are_invisible_from_tenant_a(console, api, tenant_b):
    with in_tenant(tenant_b):
        other = StoreFactory(name="B")
        seed(other, 2, prefix="B")
        b_order = Order.objects.first()
    assert console.get(f"/orders/{b_order.pk}/").status_code == 404
    assert console.get("/orders/").context["page"].orders == []
    assert api.get(f"/api/v1/orders/{b_order.pk}/").status_code == 404


def test_supplier_and_finance_cannot_see_orders(tenant_a, make_user, make_supplier, client_for, api_for, store):
    seed(store, 1)
    supplier = make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))
    finance = make_user(tenant_a, "finance")
    for user in (supplier, finance):
        assert client_for(tenant_a, user).get("/orders/").status_code == 403
        assert api_for(tenant_a, user).get("/api/v1/orders/").status_code == 403


def test_times_on_the_pages_are_in_the_tenants_time_zone(console, store, tenant_a):
    # given an order placed at 20:30 UTC, in a tenant on Shanghai time (UTC+8)
    assert tenant_a.time_zone == "Asia/Shanghai"
    placed = dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC)
    orders_upsert(
        store_id=store.pk,
        orders=[(ChannelOrderFactory.build(external_id="TZ-1", placed_at=placed, updated_at=placed), {})],
    )

    # when the merchant lists the orders
    body = console.get("/orders/").content.decode()

    # then the list says the next morning, Shanghai time
    assert "2026-03-02 04:30" in body
    assert "2026-03-01 20:30" not in body


def test_order_detail_money_has_the_currencys_decimals_and_no_negative_zero(console, store):
    # given an order with no order-level discount and no shipping, its lines discounted by nothing
    orders_upsert(store_id=store.pk, orders=[(ChannelOrderFactory.build(external_id="Z-1"), {})])
    order = Order.objects.get()
    assert order.discount_total == 0

    # when the merchant opens it
    body = console.get(f"/orders/{order.pk}/").content.decode()

    # then no amount has three decimals and no empty discount reads as a negative zero
    assert "−0.00" not in body and "-0.00" not in body and ".000" not in body
    assert f"{order.total:,.2f} {order.currency}" in body

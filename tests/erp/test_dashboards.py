"""The merchant dashboard: figures and charts equal what the data says, in the tenant's days; tenant B's rows never
count; only console users get in; labels are escaped; an empty tenant gets empty states; a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from channels.models import FulfillmentPush, QuarantinedPayload, Store, SyncRun
from orders.models import Order, RoutingDecision
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.orders.factories import OrderFactory
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch

HOSTILE = "<script>alert(1)</script> & Co"


def _local_noon(tenant, days_ago: int) -> dt.datetime:
    today = timezone.localtime(timezone.now(), timezone=tenant.tz).date()
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12), tzinfo=tenant.tz)


def _orders(store, at: dt.datetime, n: int, **kwargs) -> list[Order]:
    return [OrderFactory(store=store, placed_at=at, **kwargs) for _ in range(n)]


def _table_row(chart, label: str) -> list[str]:
    for row in chart.table.rows:
        if row[0].text == label:
            return [cell.text for cell in row[1:]]
    raise AssertionError(f"{label} not in {chart.table.rows}")


def test_orders_per_day_per_store_equal_the_data_in_the_table_fallback(in_a, console, store):
    # given: 3 orders of the store three days ago, 1 the day before, and one at 23:30 local time on day X
    other = StoreFactory(name="Second shop")
    day_x = _local_noon(in_a, 3)
    _orders(store, day_x, 2)
    _orders(store, day_x.replace(hour=23, minute=30), 1)  # still day X in the tenant's zone (UTC says the next)
    _orders(other, _local_noon(in_a, 4), 1)

    # when
    response = console.get("/dashboard/")

    # then
    assert response.status_code == 200
    chart = response.context["charts"]["orders"]
    label = day_x.strftime("%m-%d")
    assert chart.table.headers == ("Day", store.name, "Second shop")
    assert _table_row(chart, label) == ["3", "0"]
    assert _table_row(chart, (day_x - dt.timedelta(days=1)).strftime("%m-%d")) == ["0", "1"]
    assert len(chart.table.rows) == 30
    html = response.content.decode()
    assert re.search(rf'<th scope="row">{label}</th><td class="num">3</td><td class="num">0</td>', html)
    assert "<svg" in html and "Show as table" in html


def test_tenant_b_orders_never_count(in_a, tenant_b, console, store):
    _orders(store, _local_noon(in_a, 1), 2)
    with in_tenant(tenant_b):
        b_store = StoreFactory(name="Beta shop")
        _orders(b_store, _local_noon(tenant_b, 1), 5)
        _orders(b_store, _local_noon(tenant_b, 0), 4)

    response = console.get("/dashboard/")

    chart = response.context["charts"]["orders"]
    assert chart.table.headers == ("Day", store.name)
    assert sum(int(row[1].text) for row in chart.table.rows) == 2
    assert response.context["figures"].week == 2
    assert "Beta shop" not in response.content.decode()


def test_figures_and_auto_routed_share(in_a, console, store):
    orders = _orders(store, _local_noon(in_a, 0), 4)
    Order.objects.filter(pk__in=[o.pk for o in orders[:3]]).update(status="routed", auto_routed=True)
    Order.objects.filter(pk=orders[3].pk).update(status="shipped", auto_routed=False)
    cancelled = _orders(store, _local_noon(in_a, 2), 1)[0]
    Order.objects.filter(pk=cancelled.pk).update(cancelled_at=timezone.now(), status="cancelled")

    response = console.get("/dashboard/")

    figures = response.context["figures"]
    assert (figures.today, figures.week, figures.cancelled_week) == (4, 5, 1)
    assert response.context["auto_routed"]["percent"] == 75
    chart = response.context["charts"]["auto_routed"]
    assert _table_row(chart, _local_noon(in_a, 0).strftime("%m-%d")) == ["75.0%"]
    assert _table_row(chart, _local_noon(in_a, 2).strftime("%m-%d")) == ["—"]  # nothing routed that day
    assert 'data-figure="auto_routed">75.0%' in response.content.decode()


def test_holds_by_reason_link_to_the_filtered_queue(in_a, console, store):
    for code, n in (("unmapped_sku", 2), ("hold_total_above", 1)):
        for order in _orders(store, _local_noon(in_a, 1), n):
            Order.objects.filter(pk=order.pk).update(status="held")
            RoutingDecision.objects.filter(order=order).update(is_current=False)
            RoutingDecision.objects.create(
                order=order, held=True, hold_reasons=[{"code": code, "params": {}}], trigger="ingest"
            )

    response = console.get("/dashboard/")

    chart = response.context["charts"]["holds"]
    assert [(r[0].text, r[1].text, r[0].href) for r in chart.table.rows] == [
        ("Unmapped SKU", "2", "/orders/holds/?reason=unmapped_sku"),
        ("Total above a limit", "1", "/orders/holds/?reason=hold_total_above"),
    ]
    assert response.context["figures"].held == 3
    assert 'href="/orders/holds/?reason=unmapped_sku"' in response.content.decode()


def test_overdue_dispatches_per_supplier_and_top_products(in_a, console, store):
    acme, bolt = SupplierFactory(label="Acme"), SupplierFactory(label="Bolt")
    late = timezone.now() - dt.timedelta(days=5)
    order = _orders(store, _local_noon(in_a, 1), 1, items=(("MUG", 3), ("TEE", 1)))[0]
    make_dispatch(acme, status="pending", created=late, order=order, lines=(("MUG", 3, "5.00"),))
    make_dispatch(acme, status="accepted", created=late, order=order, lines=(("TEE", 1, "5.00"),))
    make_dispatch(bolt, status="pending", created=late, order=order, lines=(("MUG", 2, "5.00"),))
    make_dispatch(
        bolt, status="rejected", created=late, order=order, lines=(("TEE", 9, "5.00"),)
    )  # not open, not standing
    make_dispatch(bolt, status="pending", order=order, lines=(("MUG", 1, "5.00"),))  # not late yet

    response = console.get("/dashboard/")

    overdue = response.context["charts"]["overdue"]
    assert [(r[0].text, r[1].text) for r in overdue.table.rows] == [(acme.name, "2"), (bolt.name, "1")]
    assert overdue.table.rows[0][0].href == f"/dispatches/?supplier={acme.pk}&overdue=any"
    products = response.context["charts"]["products"]
    assert [(r[0].text.split(" · ")[0], r[1].text) for r in products.table.rows] == [("MUG", "6"), ("TEE", "1")]


def test_sync_health_per_store(in_a, console, store):
    SyncRun.objects.create(store=store, kind="scheduled", status="succeeded", finished_at=timezone.now())
    SyncRun.objects.create(
        store=store, kind="scheduled", status="failed", finished_at=timezone.now(), message="HTTP 500"
    )
    QuarantinedPayload.objects.create(store=store, external_id="Q1", payload={}, reason="bad")
    QuarantinedPayload.objects.create(
        store=store, external_id="Q2", payload={}, reason="bad", resolved_at=timezone.now()
    )
    quiet = StoreFactory(name="Quiet shop")

    response = console.get("/dashboard/")

    health = {row.store.pk: row for row in response.context["health"]}
    assert health[store.pk].quarantined == 1 and health[store.pk].last_error_message == "HTTP 500"
    assert health[store.pk].last_success is not None
    assert health[quiet.pk].last_success is None and health[quiet.pk].quarantined == 0
    html = response.content.decode()
    assert "HTTP 500" in html and f'href="/stores/{store.pk}/"' in html


def test_push_failures_count_and_link_to_their_orders(in_a, console, store):
    acme = SupplierFactory(label="Acme")
    order = _orders(store, _local_noon(in_a, 1), 1)[0]
    dispatch = make_dispatch(acme, status="shipped", order=order, lines=(("MUG", 1, "5.00"),))
    parcel = dispatch.parcels.create(carrier="ups", tracking_number="1Z999")
    FulfillmentPush.objects.create(store=store, order=order, parcel=parcel, status="failed", message="Refused")

    response = console.get("/dashboard/")

    assert response.context["pushes"].count == 1
    html = response.content.decode()
    assert 'data-push-failures="1"' in html and f'href="/orders/{order.pk}/"' in html and "Refused" in html


def test_names_are_escaped(in_a, console):
    hostile = StoreFactory(name=HOSTILE)
    _orders(hostile, _local_noon(in_a, 1), 1)

    html = console.get("/dashboard/").content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_a_tenant_without_orders_gets_empty_states(in_a, console, store):
    response = console.get("/dashboard/")

    charts = response.context["charts"]
    assert all(chart.empty for chart in charts.values())
    html = response.content.decode()
    assert "No orders in the last 30 days." in html and "No order is waiting for review." in html
    assert "<svg" not in html


def test_a_tenant_without_stores_is_asked_to_connect_one(in_a, console):
    html = console.get("/dashboard/").content.decode()

    assert "Connect your first store" in html


@pytest.mark.parametrize("role", ["supplier", "finance"])
def test_other_roles_are_refused(in_a, make_user, client_for, role):
    supplier = SupplierFactory() if role == "supplier" else None
    user = make_user(in_a, role, supplier=supplier)

    assert client_for(in_a, user).get("/dashboard/").status_code == 403


def test_anonymous_is_sent_to_login(in_a, client_for):
    response = client_for(in_a).get("/dashboard/")

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_queries_do_not_grow_with_stores_suppliers_or_days(in_a, console, django_assert_max_num_queries):
    for n in range(4):
        shop = StoreFactory()
        SyncRun.objects.create(store=shop, kind="scheduled", status="succeeded", finished_at=timezone.now())
        QuarantinedPayload.objects.create(store=shop, external_id=f"Q{n}", payload={}, reason="bad")
        for days_ago in range(0, 20, 4):
            order = _orders(shop, _local_noon(in_a, days_ago), 1, items=((f"SKU-{n}", 2),))[0]
            make_dispatch(
                SupplierFactory(), status="pending", order=order,
                created=timezone.now() - dt.timedelta(days=4), lines=((f"SKU-{n}", 2, "5.00"),),
            )  # fmt: skip
    assert Store.objects.count() == 4

    with django_assert_max_num_queries(13):
        response = console.get("/dashboard/")

    assert response.status_code == 200
    assert len(response.context["charts"]["overdue"].table.rows) == 20

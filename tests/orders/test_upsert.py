"""The idempotent upsert: one order per (store, external id), newest version wins, lines sum to the order."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from channels.models import Store
from orders.canonical import Address, ChannelOrder, ChannelOrderLine
from orders.models import Order, OrderLine
from orders.services import orders_upsert
from tests.conftest import in_tenant

T = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def canonical(external_id="A-1", *, updated=T, lines=None, discount="3.00", shipping="5.00", note=""):
    lines = lines or [
        ChannelOrderLine(external_id="1", listing_sku="TEE-M", title="Tee", quantity=1, unit_price=Decimal("10.00")),
        ChannelOrderLine(external_id="2", listing_sku="MUG", title="Mug", quantity=2, unit_price=Decimal("7.50")),
    ]
    subtotal = sum((l.unit_price * l.quantity for l in lines), Decimal(0))
    return ChannelOrder(
        external_id=external_id, order_number=f"#{external_id}", currency="USD", placed_at=T, updated_at=updated,
        lines=tuple(lines), subtotal=subtotal, discount_total=Decimal(discount), shipping_total=Decimal(shipping),
        tax_total=Decimal("0"), total=subtotal - Decimal(discount) + Decimal(shipping), buyer_name="Ada",
        shipping_address=Address(country="US", city="Springfield", line1="1 Main St"), note=note,
    )  # fmt: skip


@pytest.fixture
def store(tenant_a):
    connection.set_tenant(tenant_a)
    return Store.objects.create(name="S", channel="spreadsheet")


def test_first_upsert_creates_order_lines_and_apportions_to_the_cent(store):
    result = orders_upsert(store_id=store.pk, orders=[(canonical(), {"id": "A-1"})])

    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    order = Order.objects.get()
    lines = list(order.lines.order_by("position"))
    assert [l.discount_share for l in lines] == [Decimal("1.20"), Decimal("1.80")]
    assert [l.shipping_share for l in lines] == [Decimal("2.00"), Decimal("3.00")]
    assert sum(l.net_amount for l in lines) == order.subtotal - order.discount_total + order.shipping_total
    assert order.raw_payload() == {"id": "A-1"}


def test_the_same_payload_twice_adds_no_row(store):
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    result = orders_upsert(store_id=store.pk, orders=[(canonical(), {})])

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2


def test_newer_version_replaces_and_older_is_ignored(store):
    orders_upsert(store_id=store.pk, orders=[(canonical(note="v1"), {})])
    newer = canonical(updated=T + dt.timedelta(minutes=5), note="v2")
    older = canonical(updated=T - dt.timedelta(minutes=5), note="v0")

    assert orders_upsert(store_id=store.pk, orders=[(newer, {})]).updated == 1
    assert orders_upsert(store_id=store.pk, orders=[(older, {})]).unchanged == 1
    assert Order.objects.get().note == "v2"


def test_within_one_batch_the_newest_version_wins(store):
    v1, v2 = canonical(note="first"), canonical(updated=T + dt.timedelta(seconds=1), note="second")
    result = orders_upsert(store_id=store.pk, orders=[(v2, {}), (v1, {})])
    assert result.created == 1
    assert Order.objects.get().note == "second"


def test_a_line_the_channel_dropped_is_removed_on_update(store):
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    one_line = canonical(
        updated=T + dt.timedelta(minutes=1),
        lines=[
            ChannelOrderLine(external_id="1", listing_sku="TEE-M", title="Tee", quantity=3, unit_price=Decimal("10.00"))
        ],
    )
    orders_upsert(store_id=store.pk, orders=[(one_line, {})])
    assert list(OrderLine.objects.values_list("external_id", "quantity")) == [("1", 3)]


def test_same_external_id_in_two_stores_is_two_orders(store):
    other = Store.objects.create(name="Other", channel="spreadsheet")
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    orders_upsert(store_id=other.pk, orders=[(canonical(), {})])
    assert Order.objects.count() == 2


def test_orders_of_tenant_a_are_not_in_tenant_b(store, tenant_b):
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    with in_tenant(tenant_b):
        assert Order.objects.count() == 0


def test_concurrent_upserts_of_the_same_orders_make_each_order_once(django_db_blocker):
    """Pull and webhook (or two workers) racing on real connections: one order each."""
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            store = Store.objects.create(name="Race", channel="spreadsheet")
        batch = [(canonical(f"R-{i}", updated=T + dt.timedelta(seconds=i % 3)), {}) for i in range(200)]
        barrier = threading.Barrier(4)
        errors = []

        def worker(offset):
            try:
                with in_tenant(tenant):
                    barrier.wait()
                    orders_upsert(store_id=store.pk, orders=batch[offset:] + batch[:offset])
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(k * 50,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert errors == []
            with in_tenant(tenant):
                assert Order.objects.filter(store=store).count() == 200
                assert OrderLine.objects.filter(order__store=store).count() == 400
        finally:
            with in_tenant(tenant):
                Order.objects.filter(store=store).delete()
                store.delete()

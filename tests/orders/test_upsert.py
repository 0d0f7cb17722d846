"""The idempotent upsert: one order per (store, external id), newest version wins, lines sum to the order."""

import datetime as dt
import threading
import time
from decimal import Decimal

from django.db import connection, connections, transaction

from orders.canonical import Address, ChannelOrder
from orders.models import Order, OrderLine
from orders.services import orders_upsert
from tenants.models import Tenant
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.orders.factories import ChannelOrderFactory, ChannelOrderLineFactory

T = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def canonical(external_id="A-1", *, updated=T, **overrides) -> ChannelOrder:
    """Two lines (a tee at 10.00, two mugs at 7.50), 3.00 off and 5.00 shipping, placed at T."""
    return ChannelOrderFactory.build(
        discounted=True, external_id=external_id, placed_at=T, updated_at=updated, buyer_name="Ada", buyer_email="",
        shipping_address=Address(country="US", city="Springfield", line1="1 Main St"), **overrides,
    )  # fmt: skip


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
        lines=(ChannelOrderLineFactory(external_id="1", listing_sku="TEE-M", title="Tee", quantity=3),),
    )
    orders_upsert(store_id=store.pk, orders=[(one_line, {})])
    assert list(OrderLine.objects.values_list("external_id", "quantity")) == [("1", 3)]


def test_same_external_id_in_two_stores_is_two_orders(store):
    other = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    orders_upsert(store_id=other.pk, orders=[(canonical(), {})])
    assert Order.objects.count() == 2


def test_orders_of_tenant_a_are_not_in_tenant_b(store, tenant_b):
    orders_upsert(store_id=store.pk, orders=[(canonical(), {})])
    with in_tenant(tenant_b):
        assert Order.objects.count() == 0


def test_concurrent_upserts_of_the_same_orders_make_each_order_once(django_db_blocker):
    """Pull and webhook (or two workers) racing on real connections: one order each."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            store = StoreFactory(name="Race")
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


def test_a_newer_version_written_while_an_older_one_commits_keeps_only_its_own_lines(
    django_db_setup, django_db_blocker
):
    """A pull has inserted an order with two lines and not yet committed; a webhook's newer version, with
    one line, waits on it in its merge. Once the pull commits, the webhook's version replaces the order
    and the line it dropped goes, though that line was committed after the webhook's merge began."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            store = StoreFactory(name="Waits")
        older = canonical("W-1")
        newer = canonical(
            "W-1",
            updated=T + dt.timedelta(minutes=1),
            lines=(ChannelOrderLineFactory(external_id="1", listing_sku="TEE-M", title="Tee", quantity=3),),
        )
        pulled, release, errors = threading.Event(), threading.Event(), []

        def pull():
            try:
                with in_tenant(tenant), transaction.atomic():
                    orders_upsert(store_id=store.pk, orders=[(older, {})])
                    pulled.set()
                    release.wait(10)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        def webhook():
            try:
                with in_tenant(tenant):
                    pulled.wait(10)
                    orders_upsert(store_id=store.pk, orders=[(newer, {})])
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=pull), threading.Thread(target=webhook)]
        for t in threads:
            t.start()
        try:
            # when: the webhook's merge waits on the pull's row, the pull commits
            waiting = 0
            for _ in range(200):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE %s",
                        ["%WITH incoming AS%"],  # the merge (the start of its text: the rest is cut)
                    )
                    waiting = cursor.fetchone()[0]
                if waiting:
                    break
                time.sleep(0.05)
            release.set()
            for t in threads:
                t.join(20)

            # then: the newer version, with its one line only
            assert waiting == 1 and errors == []
            with in_tenant(tenant):
                order = Order.objects.get(store=store, external_id="W-1")
                assert order.channel_updated_at == newer.updated_at
                assert list(order.lines.values_list("external_id", "quantity")) == [("1", 3)]
        finally:
            release.set()
            with in_tenant(tenant):
                Order.objects.filter(store=store).delete()
                store.delete()

"""The routing tasks: ids in, services called chunk by chunk, enqueued only after the caller commits."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection

from core.tasks import TenantRequired
from orders import tasks
from orders.models import Order
from tests.orders.routing_factories import add_source, make_order, make_product


def test_route_orders_task_routes_in_chunks(store, acme):
    add_source(make_product("MUG"), acme)
    orders = [make_order(store, ("MUG", 1), email=f"t{i}@example.com") for i in range(5)]

    # given ids out of order and one twice: each order is routed once
    counts = tasks.route_orders([o.pk for o in reversed(orders)] + [orders[0].pk], "manual")

    assert counts == {"routed": 5, "held": 0, "dispatches_created": 5, "skipped": 0}
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {"routed"}


def test_after_ingest_task_routes_new_orders_as_ingest(store, acme):
    add_source(make_product("MUG"), acme)
    order = make_order(store, ("MUG", 1))

    assert tasks.after_ingest([order.pk])["routed"] == 1

    order.refresh_from_db()
    assert order.auto_routed is True


def test_enqueue_after_ingest_sends_once_the_transaction_commits(store, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.after_ingest, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            tasks.enqueue_after_ingest(order_ids=[3, 1, 3])
        assert not send.called
        for callback in callbacks:
            callback()

    send.assert_called_once()
    assert send.call_args.kwargs["args"] == ([1, 3],)
    assert send.call_args.kwargs["headers"] == {"_schema_name": connection.schema_name}


def test_the_routing_task_refuses_to_run_without_a_tenant(db):
    connection.set_schema_to_public()

    with pytest.raises(TenantRequired):
        tasks.route_orders([1], "manual")

"""The bulk SQL helpers write through psycopg2 directly, and tests counting queries still see every statement."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.bulk import chunked, copy_rows, execute_large
from orders.models import Transition
from tests.orders.factories import OrderFactory


def test_copy_rows_is_counted_and_writes_every_row(in_a, store):
    order = OrderFactory(store=store)
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = [(order.pk, "new", "held", None, "test", f"row {n}", at) for n in range(3)]
    columns = ("order_id", "from_state", "to_state", "actor_id", "actor_label", "reason", "at")

    with CaptureQueriesContext(connection) as queries:
        written = copy_rows("orders_transition", columns, rows)

    assert written == 3
    assert [q["sql"].split(" (")[0] for q in queries.captured_queries] == ["COPY orders_transition"]
    assert Transition.objects.filter(order=order, reason__startswith="row ").count() == 3


def test_a_large_statement_is_counted_without_its_parameters(in_a):
    huge = "x" * 1_000_000
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        execute_large(cursor, "SELECT length(%s)", [huge])
        assert cursor.fetchone() == (1_000_000,)

    logged = [q["sql"] for q in queries.captured_queries]
    assert "SELECT length(%s) -- parameters left out" in logged
    assert not any(huge in sql for sql in logged)


def test_chunked_keeps_order_and_bounds_each_chunk():
    assert list(chunked([1, 3, 4, 5, 8], 2)) == [[1, 3], [4, 5], [8]]
    assert list(chunked([], 2)) == []
    assert list(chunked((1, 2), 5)) == [[1, 2]]

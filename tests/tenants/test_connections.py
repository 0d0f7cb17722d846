"""A connection that has served many tenant schemas is closed (outside transactions), so its backend's catalog
cache does not grow without end; the web middleware and the Celery hook note each unit of work's schema."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from tenants.connections import (
    ConnectionRecycleMiddleware,
    connection_recycle_if_wide,
    schema_note,
    task_schema_note,
)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def outside_transactions(django_db_setup, django_db_blocker):
    """Queries allowed, but no test transaction around them (a recycle is refused inside one); nothing written."""
    with django_db_blocker.unblock():
        connection.close()
        yield
        connection.close()


def test_a_unit_of_work_without_a_tenant_counts_for_nothing(db):
    # (the first test of the module asks for ``db``: pytest-django creates the test database for it)
    before = schema_note("t_one")

    task_schema_note(task=SimpleNamespace(request=SimpleNamespace(headers={})))

    assert schema_note(None) == before


def test_a_connection_is_recycled_once_it_has_served_the_limit_of_schemas(outside_transactions):
    # given
    pid = _backend_pid()
    for schema in ("t_one", "t_two", "t_two"):
        schema_note(schema)

    # when / then: two distinct schemas is under a limit of three
    assert connection_recycle_if_wide(limit=3) is False
    assert _backend_pid() == pid

    # when / then: the third reaches it, the connection is closed, the next query gets a fresh backend
    assert schema_note("t_three") == 3
    assert connection_recycle_if_wide(limit=3) is True
    assert _backend_pid() != pid
    assert schema_note(None) == 0  # the fresh session starts counting afresh


def test_a_connection_in_a_transaction_is_never_closed(outside_transactions):
    pid = _backend_pid()
    with transaction.atomic():
        for schema in ("t_one", "t_two"):
            schema_note(schema)
        assert connection_recycle_if_wide(limit=1) is False
        assert _backend_pid() == pid


def test_the_limit_comes_from_settings(outside_transactions, settings):
    settings.RELAY_CONNECTION_MAX_SCHEMAS = 2
    pid = _backend_pid()
    schema_note("t_one")
    assert connection_recycle_if_wide() is False
    schema_note("t_two")

    assert connection_recycle_if_wide() is True
    assert _backend_pid() != pid


def test_the_middleware_notes_the_requests_tenant(outside_transactions):
    _backend_pid()
    middleware = ConnectionRecycleMiddleware(lambda request: HttpResponse("ok"))
    for schema in ("t_one", "t_two", "t_one"):
        request = RequestFactory().get("/")
        request.tenant = SimpleNamespace(schema_name=schema)
        middleware(request)
    public = RequestFactory().get("/")  # a public host: no request.tenant

    middleware(public)

    assert schema_note(None) == 2


def test_the_celery_hook_notes_the_tasks_schema_and_recycles(outside_transactions, settings):
    settings.RELAY_CONNECTION_MAX_SCHEMAS = 2
    pid = _backend_pid()

    task_schema_note(task=SimpleNamespace(request=SimpleNamespace(headers={"_schema_name": "t_one"})))
    assert _backend_pid() == pid
    task_schema_note(task=SimpleNamespace(request=SimpleNamespace(headers=None, _schema_name="t_two")))

    assert _backend_pid() != pid

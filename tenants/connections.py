"""Recycling a database connection once it has served many tenant schemas.

A PostgreSQL backend caches the catalog entries (relations, their attributes, indexes, plans) of every table it
has touched, and never gives that memory back while the connection lives. A tenant schema has ~50 tables and
~230 indexes of its own, so a long-lived connection of a web process or a Celery worker that serves request
after request for different tenants grows by a few hundred kB per schema touched: megabytes per hundred
tenants, gigabytes across a server's connections with thousands of tenants. Closing the connection once it has
touched RELAY_CONNECTION_MAX_SCHEMAS distinct schemas bounds that; Django reopens one on the next query, which
costs one connection set-up (a few ms) every so many units of work.

Wiring: ``ConnectionRecycleMiddleware`` (above tenants.middleware.TenantMiddleware) for web requests, and
``task_schema_note`` on Celery's ``task_postrun`` signal for workers. Both note the unit of work's schema on the
connection and, outside any transaction, close it once the limit is reached.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

DEFAULT_MAX_SCHEMAS = 100


def max_schemas() -> int:
    return int(getattr(settings, "RELAY_CONNECTION_MAX_SCHEMAS", DEFAULT_MAX_SCHEMAS))


def _touched(alias: str) -> set[str]:
    """The schemas noted on the connection's current PostgreSQL session (a new session starts empty)."""
    wrapper = connections[alias]
    raw = wrapper.connection
    state = getattr(wrapper, "_relay_schemas", None)
    if state is None or state[0] is not raw:
        state = (raw, set())
        wrapper._relay_schemas = state
    return state[1]


def schema_note(schema: str | None, *, alias: str = DEFAULT_DB_ALIAS) -> int:
    """Note that the connection ``alias`` served ``schema``; returns how many distinct schemas it has served."""
    touched = _touched(alias)
    if schema and connections[alias].connection is not None:
        touched.add(schema)
    return len(touched)


def connection_recycle_if_wide(*, alias: str = DEFAULT_DB_ALIAS, limit: int | None = None) -> bool:
    """Close the connection ``alias`` if it has served ``limit`` (default RELAY_CONNECTION_MAX_SCHEMAS) or more
    distinct schemas and no transaction is open on it; Django opens a fresh one on the next query. Returns
    whether it was closed."""
    wrapper = connections[alias]
    limit = max_schemas() if limit is None else limit
    if wrapper.connection is None or len(_touched(alias)) < limit or wrapper.in_atomic_block:
        return False
    logger.info("database connection recycled", extra={"schemas": len(_touched(alias)), "limit": limit})
    wrapper.close()
    wrapper._relay_schemas = None
    return True


def task_schema_note(sender=None, task=None, **_kwargs) -> None:
    """Celery ``task_postrun`` receiver: note the task's tenant schema, recycle the connection if it is wide."""
    request = getattr(task, "request", None)
    headers = getattr(request, "headers", None) or {}
    schema = headers.get("_schema_name") or getattr(request, "_schema_name", None)
    schema_note(schema)
    connection_recycle_if_wide()


def _request_finished(**_kwargs) -> None:
    connection_recycle_if_wide()


class ConnectionRecycleMiddleware:
    """Notes each request's tenant schema on the connection; when the response is finished (streamed bodies
    included), a connection that has served too many schemas is closed. Place it above TenantMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(_request_finished, dispatch_uid="tenants.connections.recycle")

    def __call__(self, request):
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        schema_note(getattr(tenant, "schema_name", None))
        return response

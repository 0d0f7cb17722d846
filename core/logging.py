"""Structured logs: one JSON object per line, carrying tenant, user and request/task id."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

from django.db import connection

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")
user_var: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="")
# Set by the tenant middleware. Kept after the response so Django's own request
# log line, written after every middleware has returned, still names the tenant.
tenant_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_tenant() -> str:
    if tenant := tenant_var.get():
        return tenant
    try:
        return getattr(connection, "schema_name", "") or ""
    except Exception:
        return ""


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant = current_tenant()
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        record.user = user_var.get()
        return True


class JsonFormatter(logging.Formatter):
    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "tenant", "request_id", "task_id", "user"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "tenant": getattr(record, "tenant", ""),
            "request_id": getattr(record, "request_id", ""),
            "task_id": getattr(record, "task_id", ""),
            "user": getattr(record, "user", ""),
        }
        # Structured extras passed as logger.info("…", extra={...}).
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class RequestIdMiddleware:
    """Gives every request an id (kept from X-Request-ID when it looks sane) and echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset afterwards: Django logs the response after the middleware
        # returns; the next request on this thread overwrites all three.
        request_id_var.set(request_id)
        user_var.set("")
        tenant_var.set("")
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestContextMiddleware:
    """After authentication: put the user on every log line of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_var.set(str(user.pk))
        return self.get_response(request)

"""Periods: which month a moment belongs to (in the tenant's time zone), and the period of a month."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import connection

from settlement.models import Period

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def tenant_time_zone() -> zoneinfo.ZoneInfo:
    """The current tenant's time zone (django-tenants puts the tenant on the connection)."""
    tenant = getattr(connection, "tenant", None)
    return zoneinfo.ZoneInfo(getattr(tenant, "time_zone", "") or DEFAULT_TIME_ZONE)


def month_of(moment: dt.datetime, *, tz: zoneinfo.ZoneInfo | None = None) -> dt.date:
    """The first day of the month ``moment`` (aware) falls in, in ``tz`` (default: the tenant's)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    local = moment.astimezone(tz or tenant_time_zone())
    return local.date().replace(day=1)


def parse_month(text: str) -> dt.date:
    """The first day of a month written "YYYY-MM". Raises ValueError for anything else."""
    return dt.date.fromisoformat(f"{text}-01")


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: dt.date) -> dt.date:
    return dt.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def period_bounds(*, month: dt.date, tz: zoneinfo.ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open range [start, end) of aware datetimes, midnight to midnight in ``tz``.

    Comparing stored UTC times with these is right across daylight-saving changes.
    """
    tz = tz or tenant_time_zone()
    start = dt.datetime(month.year, month.month, 1, tzinfo=tz)
    end_month = next_month(month)
    return start, dt.datetime(end_month.year, end_month.month, 1, tzinfo=tz)


def period_for(*, month: dt.date) -> Period:
    """The period of ``month`` (any day of it), created open when there is none yet."""
    period, _created = Period.objects.get_or_create(month=month.replace(day=1))
    return period


def period_of(*, moment: dt.datetime) -> Period:
    """The period ``moment`` belongs to in the tenant's time zone, created open when there is none yet."""
    return period_for(month=month_of(moment))

"""The daily digest: one e-mail per supplier listing its dispatches new since the last digest and those overdue.

The per-tenant periodic dispatcher (erp.tasks) runs ``suppliers.send_due_digests``
every minute; the first run after DIGEST_HOUR in the tenant's time zone fans
out one task per active supplier (at most once a day, claimed in the tenant's
cache). Each supplier's digest covers the dispatches routed since its last
digest up to today's DIGEST_HOUR, so a re-run or a late worker sends the same
list, and a missed day is caught up by the next one. No new and no overdue
dispatch: no e-mail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from suppliers.models import Dispatch, DispatchLine, Supplier
from suppliers.selectors import overdue_q
from tenants.locale import language_for

D = Dispatch.Status

DIGEST_HOUR = 8  # local time of the tenant after which the day's digest goes out
LIST_LIMIT = 50  # dispatches listed per section; the e-mail gives the full count and links to the portal
_DAY = dt.timedelta(days=1)
_FAN_OUT_KEY = "supplier-digest:fan-out:{day}"
_SENT_KEY = "supplier-digest:sent:{supplier_id}:{day}"
_LAST_KEY = "supplier-digest:last:{supplier_id}"
_KEEP = 3 * 24 * 3600  # claims outlive the day they are for, and no longer


@dataclass(frozen=True)
class DigestRun:
    """One day's digest of a tenant: the day, the cut-off (that day's DIGEST_HOUR) and the suppliers to mail."""

    day: dt.date
    cutoff: dt.datetime
    supplier_ids: list[int]


@dataclass
class DigestRow:
    dispatch: Dispatch
    orders: list[str]
    overdue: str  # "accept" | "ship" | ""


@dataclass
class Digest:
    supplier: Supplier
    since: dt.datetime
    until: dt.datetime
    new: list[DigestRow]
    new_count: int
    overdue: list[DigestRow]
    overdue_count: int

    @property
    def empty(self) -> bool:
        return not (self.new_count or self.overdue_count)


def digest_run_claim(*, now: dt.datetime, tz: dt.tzinfo) -> DigestRun | None:
    """Today's digest run of the current tenant if it is due at ``now`` and not claimed yet, else None.

    Due from DIGEST_HOUR local time on; the claim (an atomic cache add in the
    tenant's keys) makes it happen once a day however often the dispatcher runs.
    """
    local = now.astimezone(tz)
    if local.hour < DIGEST_HOUR:
        return None
    day = local.date()
    if not cache.add(_FAN_OUT_KEY.format(day=day.isoformat()), now.isoformat(), timeout=_KEEP):
        return None
    cutoff = dt.datetime.combine(day, dt.time(DIGEST_HOUR), tzinfo=tz)
    ids = list(Supplier.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))
    return DigestRun(day=day, cutoff=cutoff, supplier_ids=ids)


def _rows(dispatches: list[Dispatch], now: dt.datetime) -> list[DigestRow]:
    numbers: dict[int, list[str]] = {d.pk: [] for d in dispatches}
    for dispatch_id, number in (
        DispatchLine.objects.filter(dispatch_id__in=numbers)
        .values_list("dispatch_id", "order__order_number")
        .distinct()
        .order_by("dispatch_id", "order__order_number")
    ):
        numbers[dispatch_id].append(number)
    return [DigestRow(dispatch=d, orders=numbers[d.pk], overdue=d.overdue_at(now)) for d in dispatches]


def digest_for(*, supplier: Supplier, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> Digest:
    """What a supplier's digest lists: open dispatches routed in [since, until), and open ones overdue at ``now``."""
    open_ = Dispatch.objects.filter(supplier_id=supplier.pk, status__in=(D.PENDING, D.ACCEPTED))
    new = open_.filter(created__gte=since, created__lt=until).order_by("created", "id")
    overdue = open_.filter(overdue_q("any", now=now)).order_by("ship_by", "accept_by", "id")
    new_rows, overdue_rows = list(new[:LIST_LIMIT]), list(overdue[:LIST_LIMIT])
    return Digest(
        supplier=supplier,
        since=since,
        until=until,
        new=_rows(new_rows, now),
        new_count=len(new_rows) if len(new_rows) < LIST_LIMIT else new.count(),
        overdue=_rows(overdue_rows, now),
        overdue_count=len(overdue_rows) if len(overdue_rows) < LIST_LIMIT else overdue.count(),
    )


def digest_recipients(*, supplier: Supplier) -> list[str]:
    """The supplier's active users and its contact e-mail, each address once."""
    emails = list(
        User.objects.filter(supplier_link__supplier_id=supplier.pk, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )
    if supplier.contact_email:
        emails.append(supplier.contact_email)
    seen: set[str] = set()
    unique = []
    for email in emails:
        if email and email.lower() not in seen:
            seen.add(email.lower())
            unique.append(email)
    return unique


def supplier_digest_send(
    *, supplier_id: int, day: dt.date, cutoff: dt.datetime, now: dt.datetime | None = None
) -> bool:
    """Send a supplier its digest for ``day``; returns whether an e-mail went out.

    Lists the open dispatches routed since the supplier's last digest (a day
    before ``cutoff`` the first time) up to ``cutoff``, and every open dispatch
    overdue now. Sends nothing for a deactivated supplier, an empty digest or
    no recipient. At most once per supplier and day (claimed in the tenant's
    cache); a failed send gives the claim back, so the task's retry sends it.
    """
    now = now or timezone.now()
    claim = _SENT_KEY.format(supplier_id=supplier_id, day=day.isoformat())
    if not cache.add(claim, now.isoformat(), timeout=_KEEP):
        return False
    try:
        return _send(supplier_id=supplier_id, cutoff=cutoff, now=now)
    except Exception:
        cache.delete(claim)
        raise


def _send(*, supplier_id: int, cutoff: dt.datetime, now: dt.datetime) -> bool:
    supplier = Supplier.objects.filter(pk=supplier_id, active=True).first()
    if supplier is None:
        return False
    last_key = _LAST_KEY.format(supplier_id=supplier_id)
    last = cache.get(last_key)
    since = dt.datetime.fromisoformat(last) if last else cutoff - _DAY
    since = min(since, cutoff)
    digest = digest_for(supplier=supplier, since=since, until=cutoff, now=now)
    recipients = digest_recipients(supplier=supplier)
    sent = False
    if not digest.empty and recipients:
        languages = _languages(supplier=supplier)
        rendered: dict[str, tuple[str, str]] = {}
        messages = []
        # One message per address (a supplier's users do not see each other's addresses), each in the language
        # its reader chose; the contact address, which is nobody's login, in the default language.
        for email in recipients:
            language = languages.get(email.lower(), settings.LANGUAGE_CODE)
            if language not in rendered:
                with translation.override(language):
                    rendered[language] = _render(digest)
            subject, body = rendered[language]
            messages.append(EmailMessage(subject, body, None, [email]))
        get_connection().send_messages(messages)
        sent = True
    cache.set(last_key, cutoff.isoformat(), timeout=None)
    return sent


def _languages(*, supplier: Supplier) -> dict[str, str]:
    """Each active user's address (lower-cased) → the language they read Relay in."""
    users = User.objects.filter(supplier_link__supplier_id=supplier.pk, is_active=True)
    return {user.email.lower(): language_for(user) for user in users if user.email}


def _render(digest: Digest) -> tuple[str, str]:
    tenant = getattr(connection, "tenant", None)
    tz = getattr(tenant, "tz", dt.UTC)
    context = {
        "digest": digest,
        "tenant_name": getattr(tenant, "name", ""),
        "tz": tz,
        "portal_url": _tenant_url(tenant, reverse("suppliers:portal_dispatches")),
        "more_new": digest.new_count - len(digest.new),
        "more_overdue": digest.overdue_count - len(digest.overdue),
    }
    # Dates in the e-mail read in the tenant's time zone, as on its pages.
    with timezone.override(tz):
        subject = "".join(render_to_string("suppliers/email/digest_subject.txt", context).splitlines())
        return subject, render_to_string("suppliers/email/digest.txt", context)


def _tenant_url(tenant, path: str) -> str:
    """An absolute link on the tenant's primary host, as people reach it (scheme and port from the settings)."""
    if tenant is None or not hasattr(tenant, "get_primary_domain"):
        return path
    domain = tenant.get_primary_domain()
    if domain is None:
        return path
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    port = settings.RELAY_PORT
    suffix = "" if port in {"", "80", "443"} else f":{port}"
    return f"{scheme}://{domain.domain}{suffix}{path}"

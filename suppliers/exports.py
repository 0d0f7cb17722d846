"""Downloads of the console's supplier lists: the suppliers, and the dispatches across suppliers.

Each table is built from the same filtered queryset the page shows (suppliers.selectors), in the page's order,
without its paging. Rows are generated chunk by chunk (``iterator(chunk_size=CHUNK)``); what a row needs from
other tables (orders, units, parcels) is read once per chunk, never per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from core.exports import ExportTable, in_chunks
from suppliers.carriers import carrier_choices
from suppliers.models import Dispatch, DispatchLine, Parcel, Supplier

CHUNK = 2_000


@dataclass
class DispatchFacts:
    """What a chunk of dispatches' rows show from their lines and parcels, read in three queries."""

    orders: dict[int, list[str]] = field(default_factory=dict)  # order numbers
    units: dict[int, int] = field(default_factory=dict)
    carriers: dict[int, list[str]] = field(default_factory=dict)
    tracking: dict[int, list[str]] = field(default_factory=dict)


def dispatch_facts(ids: list[int]) -> DispatchFacts:
    facts = DispatchFacts()
    carrier_names = dict(carrier_choices())
    for dispatch_id, number in (
        DispatchLine.objects.filter(dispatch_id__in=ids)
        .order_by("dispatch_id", "order__order_number")
        .values_list("dispatch_id", "order__order_number")
        .distinct()
    ):
        facts.orders.setdefault(dispatch_id, []).append(number)
    facts.units = dict(
        DispatchLine.objects.filter(dispatch_id__in=ids)
        .order_by()
        .values("dispatch_id")
        .annotate(units=Sum("quantity"))
        .values_list("dispatch_id", "units")
    )
    for dispatch_id, carrier, tracking in (
        Parcel.objects.filter(dispatch_id__in=ids)
        .order_by("dispatch_id", "shipped_at", "pk")
        .values_list("dispatch_id", "carrier", "tracking_number")
    ):
        name = carrier_names.get(carrier, carrier)
        if name not in facts.carriers.setdefault(dispatch_id, []):
            facts.carriers[dispatch_id].append(name)
        facts.tracking.setdefault(dispatch_id, []).append(tracking)
    return facts


def overdue_label(dispatch: Dispatch, now: dt.datetime) -> str:
    kind = dispatch.overdue_at(now)
    if kind == "accept":
        return _("Acceptance overdue")
    if kind == "ship":
        return _("Shipping overdue")
    return ""


# ------------------------------------------------------------------ suppliers


def suppliers_table(qs: QuerySet[Supplier]) -> ExportTable:
    """The suppliers of ``qs`` (annotated by suppliers_with_counts and suppliers_with_overdue), in its order."""

    def rows() -> Iterator[tuple]:
        for s in qs.iterator(chunk_size=CHUNK):
            yield (
                s.name, s.code, s.contact_name, s.contact_email, s.contact_phone, s.currency, s.payment_terms_days,
                s.accept_within_hours, s.ship_within_hours, s.late_ship_penalty, s.source_count, s.user_count,
                s.overdue_count, _("Active") if s.active else _("Deactivated"),
            )  # fmt: skip

    currencies = set(qs.order_by().values_list("currency", flat=True).distinct())
    columns = [
        _("Name"), _("Code"), _("Contact name"), _("Contact e-mail"), _("Contact phone"), _("Currency"),
        _("Payment terms (days)"), _("Accept within (hours)"), _("Ship within (hours)"),
        _("Late-shipment penalty"), _("Sources"), _("Portal users"), _("Overdue dispatches"), _("Status"),
    ]  # fmt: skip
    return ExportTable(
        title=_("Suppliers"),
        columns=columns,
        count=qs.count(),
        rows=rows(),
        currency=currencies.pop() if len(currencies) == 1 else "",
    )


# ------------------------------------------------------------------ dispatches across suppliers


def dispatches_table(
    qs: QuerySet[Dispatch], *, now: dt.datetime, ordering: tuple[str, ...] = ("-created", "-id")
) -> ExportTable:
    """The dispatches of ``qs`` (filtered as the console list) in ``ordering``, with their orders and parcels."""
    ordered = qs.select_related("supplier").defer("ship_to").order_by(*ordering)

    def rows() -> Iterator[tuple]:
        for chunk in in_chunks(ordered.iterator(chunk_size=CHUNK), CHUNK):
            facts = dispatch_facts([d.pk for d in chunk])
            for d in chunk:
                yield (
                    d.number,
                    d.supplier.name if d.supplier_id else _("Own warehouse"),
                    d.supplier.code if d.supplier_id else "",
                    ", ".join(facts.orders.get(d.pk, [])),
                    d.get_status_display(),
                    (d.get_reject_code_display() if d.reject_code else d.reason)
                    if d.status == d.Status.REJECTED
                    else "",
                    d.created,
                    d.accept_by,
                    d.ship_by,
                    overdue_label(d, now),
                    d.shipped_at,
                    ", ".join(facts.carriers.get(d.pk, [])),
                    ", ".join(facts.tracking.get(d.pk, [])),
                    facts.units.get(d.pk, 0),
                )

    columns = [
        _("Dispatch"), _("Supplier"), _("Supplier code"), _("Orders"), _("Status"), _("Rejection reason"),
        _("Routed"), _("Accept by"), _("Ship by"), _("Deadline"), _("Shipped"), _("Carrier"),
        _("Tracking numbers"), _("Units"),
    ]  # fmt: skip
    return ExportTable(
        title=_("Dispatches"),
        columns=columns,
        count=qs.count(),
        rows=rows(),
    )

"""The supplier portal's dispatch list as a download: only the signed-in supplier's dispatches, as filtered.

Built from suppliers.portal.selectors.portal_dispatches (which cannot return another supplier's row), in the
list's sort, without its paging. Nothing of the merchant's side: no sale prices, no other supplier; the buyer's
e-mail only when the merchant shares it with this supplier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.exports import ExportTable, in_chunks
from suppliers.exports import CHUNK, dispatch_facts, overdue_label
from suppliers.models import Dispatch, Supplier
from suppliers.portal.selectors import SORTS, DispatchFilters, portal_dispatches


def _status_label(dispatch: Dispatch) -> str:
    # The supplier's own word for a pending dispatch (the merchant's pages say "Waiting for the supplier").
    return _("Awaiting acceptance") if dispatch.status == Dispatch.Status.PENDING else dispatch.get_status_display()


def portal_dispatches_table(
    *, supplier: Supplier, filters: DispatchFilters, tz: dt.tzinfo | None, now: dt.datetime
) -> ExportTable:
    """``supplier``'s dispatches matching ``filters`` (search included), in the list's sort."""
    qs: QuerySet[Dispatch] = portal_dispatches(supplier=supplier, filters=filters, tz=tz, now=now)
    ordered = qs.order_by(*SORTS.get(filters.sort, SORTS["newest"]))
    share_email = supplier.share_buyer_email

    def rows() -> Iterator[tuple]:
        for chunk in in_chunks(ordered.iterator(chunk_size=CHUNK), CHUNK):
            facts = dispatch_facts([d.pk for d in chunk])
            for d in chunk:
                ship_to = d.ship_to or {}
                yield (
                    d.number,
                    _status_label(d),
                    ", ".join(facts.orders.get(d.pk, [])),
                    d.created,
                    d.buyer_name,
                    d.buyer_email if share_email else "",
                    ship_to.get("name", ""),
                    ship_to.get("phone", ""),
                    " ".join(str(ship_to.get(k) or "") for k in ("line1", "line2", "district")).strip(),
                    ship_to.get("city", ""),
                    ship_to.get("province", ""),
                    ship_to.get("postal_code", ""),
                    ship_to.get("country", ""),
                    facts.units.get(d.pk, 0),
                    d.accept_by if d.status == Dispatch.Status.PENDING else None,
                    d.ship_by if d.is_open else None,
                    overdue_label(d, now),
                    d.promised_ship_date,
                    d.shipped_at,
                    ", ".join(facts.carriers.get(d.pk, [])),
                    ", ".join(facts.tracking.get(d.pk, [])),
                )

    columns = [
        _("Dispatch"), _("State"), _("Orders"), _("Created"), _("Buyer"), _("Buyer e-mail"), _("Ship-to name"),
        _("Phone"), _("Address"), _("City"), _("Province"), _("Postal code"), _("Country"), _("Units"),
        _("Accept by"), _("Ship by"), _("Deadline"), _("Promised ship date"), _("Shipped"), _("Carrier"),
        _("Tracking numbers"),
    ]  # fmt: skip
    return ExportTable(
        title=_("Dispatches"),
        columns=columns,
        count=qs.count(),
        rows=rows(),
    )

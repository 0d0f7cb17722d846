"""Downloads of order lists: exactly the orders a list shows with its filters, as core.exports tables."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.exports import ExportTable
from orders.models import Order
from orders.selectors import payment_label

CHUNK = 2000

_ORDER_FIELDS = (
    "order_number", "store__name", "placed_at", "buyer_name", "buyer_email", "ship_name", "ship_country",
    "ship_province", "ship_city", "total", "currency", "status", "cancelled_at", "financial_status",
)  # fmt: skip


def relay_status_label(status: str, cancelled_at) -> str:
    """Where the order is in Relay, in the reader's language (a cancellation on the channel wins)."""
    if cancelled_at is not None:
        return str(Order.Status.CANCELLED.label)
    try:
        return str(Order.Status(status).label)
    except ValueError:
        return status


def one_currency(qs: QuerySet[Order]) -> str:
    """The orders' currency when they all have one, else "" (the XLSX then shows amounts as plain numbers)."""
    currencies = list(qs.order_by().values_list("currency", flat=True).distinct()[:2])
    return currencies[0] if len(currencies) == 1 else ""


def _ship_to(country: str, province: str, city: str) -> str:
    return " ".join(part for part in (country, province, city) if part)


def _order_rows(qs: QuerySet[Order]) -> Iterator[tuple]:
    for (
        number, store, placed, buyer, email, ship_name, country, province, city, total, currency, status,
        cancelled_at, payment,
    ) in qs.values_list(*_ORDER_FIELDS).iterator(chunk_size=CHUNK):  # fmt: skip
        yield (
            number, store, placed, buyer or email, email, ship_name, _ship_to(country, province, city), total,
            currency, relay_status_label(status, cancelled_at), payment_label(payment),
        )  # fmt: skip


def orders_export_table(qs: QuerySet[Order]) -> ExportTable:
    """The orders of ``qs`` (already filtered and sorted by the list's selector), one row each: number, store,
    placed (the tenant's wall-clock time), buyer, ship-to, total as a Decimal with its
    currency, Relay status (translated) and the channel's payment status in the reader's language (as the channel says it when Relay does not know the word)."""
    return ExportTable(
        title=_("Orders"),
        columns=[
            _("Order"),
            _("Store"),
            _("Placed"),
            _("Buyer"),
            _("Buyer e-mail"),
            _("Ship to name"),
            _("Ship to"),
            _("Total"),
            _("Currency"),
            _("Status in Relay"),
            _("Payment"),
        ],
        count=qs.count(),
        rows=_order_rows(qs),
        currency=one_currency(qs),
    )


def held_orders_export_table(qs: QuerySet[Order], *, reasons: dict[int, list[str]]) -> ExportTable:
    """The held orders of ``qs`` with why each is held (``reasons`` by order id, already in the reader's
    language): number, store, placed, buyer, total, currency, reasons joined by " · "."""

    def rows() -> Iterator[tuple]:
        for pk, number, store, placed, buyer, email, total, currency in qs.values_list(
            "pk", "order_number", "store__name", "placed_at", "buyer_name", "buyer_email", "total", "currency"
        ).iterator(chunk_size=CHUNK):
            yield (
                number,
                store,
                placed,  # core.exports writes it in the zone of the request
                buyer or email,
                total,
                currency,
                " · ".join(reasons.get(pk, [])),
            )

    return ExportTable(
        title=_("Held orders"),
        columns=[_("Order"), _("Store"), _("Placed"), _("Buyer"), _("Total"), _("Currency"), _("Why it is held")],
        count=qs.count(),
        rows=rows(),
        currency=one_currency(qs),
    )

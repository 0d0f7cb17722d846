"""Settlement test helpers: dispatch lines shipped at a given moment, returns made at a given moment.

Rows are written directly, the way a test sets up an order in a status: how a dispatch ships is tested
in tests/suppliers. One order, product and source per supplier serve every line (``Shop``), so a
property test can write hundreds of lines quickly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from orders.models import Order, ReturnRecord
from settlement.models import Statement, StatementLine
from suppliers.dispatches import dispatch_ids_allocate, dispatch_number
from suppliers.models import Dispatch, DispatchLine, Supplier
from tests.inventory.factories import ProductFactory, SourceFactory
from tests.suppliers.portal_factories import new_order

UTC = dt.UTC


class Shop:
    """An order and a product sourced from each supplier, to hang dispatch lines on."""

    def __init__(self) -> None:
        self.order: Order = new_order(("MUG", 1))
        self.product = ProductFactory()
        self._sources: dict[int, object] = {}

    def source(self, supplier: Supplier):
        if supplier.pk not in self._sources:
            self._sources[supplier.pk] = SourceFactory(product=self.product, supplier=supplier)
        return self._sources[supplier.pk]

    def ship(
        self,
        supplier: Supplier | None,
        *,
        at: dt.datetime,
        quantity: int = 1,
        cost: str = "5.25",
        currency: str = "CNY",
        status: str = "shipped",
    ) -> DispatchLine:
        """A dispatch of ``supplier`` (None: the own warehouse) shipped ``at``, with one line."""
        (pk,) = dispatch_ids_allocate(count=1)
        dispatch = Dispatch.objects.create(
            pk=pk, number=dispatch_number(pk), supplier=supplier, status=status,
            shipped_at=at if status == "shipped" else None,
        )  # fmt: skip
        source = self.source(supplier) if supplier else SourceFactory(product=self.product)
        return DispatchLine.objects.create(
            dispatch=dispatch, order=self.order, product=self.product, source=source, quantity=quantity,
            unit_cost=Decimal(cost), cost_currency=currency, listing_sku="L-MUG",
        )  # fmt: skip


def make_return(line: DispatchLine, *, at: dt.datetime, quantity: int = 1) -> ReturnRecord:
    record = ReturnRecord.objects.create(
        order=line.order, dispatch_line=line, listing_sku=line.listing_sku, quantity=quantity,
        amount=Decimal("10.00"), currency="USD", reason="returned",
    )  # fmt: skip
    ReturnRecord.objects.filter(pk=record.pk).update(created=at)
    record.refresh_from_db()
    return record


def lines_of(period) -> list[StatementLine]:
    return list(StatementLine.objects.filter(statement__period=period).order_by("id"))


def snapshot(period) -> tuple:
    """Everything a close wrote for ``period``, to compare before and after."""
    statements = tuple(
        Statement.objects.filter(period=period)
        .order_by("id")
        .values_list("id", "supplier_id", "currency", "total", "status")
    )
    lines = tuple(
        StatementLine.objects.filter(statement__period=period)
        .order_by("id")
        .values_list("id", "statement_id", "kind", "dispatch_line_id", "return_record_id", "adjustment_id", "amount")
    )
    return statements, lines


def total_of(period) -> Decimal:
    return Statement.objects.filter(period=period).aggregate(t=Sum("total"))["t"] or Decimal(0)

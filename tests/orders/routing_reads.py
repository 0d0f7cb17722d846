"""What routing wrote, read back for the assertions of the routing tests against the database."""

from __future__ import annotations

from inventory.models import Stock
from orders.models import RoutingDecision
from suppliers.models import DispatchLine


def reload(obj):
    obj.refresh_from_db()
    return obj


def stock_of(source) -> tuple[int, int]:
    """(on hand, reserved) of the source's stock."""
    stock = Stock.objects.get(source=source)
    return stock.on_hand, stock.reserved


def lines_of(order) -> list[tuple]:
    """(supplier id, product sku, quantity, gift, reserved) of the order's live dispatch lines."""
    return sorted(
        DispatchLine.objects.filter(order=order, dispatch__status__in=["pending", "accepted", "shipped"]).values_list(
            "dispatch__supplier_id", "product__sku", "quantity", "is_gift", "reserved"
        ),
        key=lambda row: (row[0] or 0, row[1], row[3]),
    )


def current_decision(order) -> RoutingDecision:
    return RoutingDecision.objects.get(order=order, is_current=True)


def hold_codes(order) -> list[str]:
    return [reason["code"] for reason in current_decision(order).hold_reasons]

"""What happens to a sandbox order after it is placed: cancellation, a refunded line, a new address, a payment.

Each change mutates the order in place; the shop then stamps its updated_at
(strictly later than before) and saves. ``can_take`` says whether an order
can take a change at all, for the shop's random changes and for its API's 422.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from channels.sandbox.amounts import ZERO, Money, money_text, sum_pairs
from channels.sandbox.buyers import street
from channels.sandbox.checkout import refresh_current_totals
from channels.sandbox.fulfilment import fulfilled_quantity, line_summary, refresh_fulfillment_status
from channels.sandbox.regions import REGIONS_BY_CODE
from channels.sandbox.shop import LOCATION_ID, ShopError, iso

# The changes by the name a TickReport gives them.
CANCELLED, REFUNDED, READDRESSED, PAID = "cancelled", "refunded", "readdressed", "paid"


def can_take(kind: str, order: Mapping[str, Any]) -> bool:
    """Whether ``order`` can take the change ``kind`` (one of the names above)."""
    if order["cancelled_at"] is not None:
        return False
    if kind in (CANCELLED, READDRESSED):
        return not order["fulfillments"]
    if kind == REFUNDED:
        active = any(line["current_quantity"] > 0 for line in order["line_items"])
        return active and order["financial_status"] in ("paid", "partially_refunded")
    return order["financial_status"] == "pending"


def cancel(order: dict, now: int, *, new_id: Callable[[], int], reason: str = "customer") -> None:
    """Cancel the way a merchant does for a buyer: refund what was paid (shipping too), restock everything."""
    paid = order["financial_status"] in ("paid", "partially_refunded")
    if paid:
        active = [line for line in order["line_items"] if line["current_quantity"] > 0]
        order["refunds"].append(
            refund_record(order, active, now, new_id=new_id, with_shipping=True, note="Order cancelled")
        )
        order["financial_status"] = "refunded"
    else:
        order["financial_status"] = "voided"
    for line in order["line_items"]:
        line["current_quantity"] = 0
        line["fulfillable_quantity"] = 0
    order["cancelled_at"] = iso(now)
    order["cancel_reason"] = reason
    order["closed_at"] = iso(now)  # Shopify archives a cancelled order
    order["total_outstanding"] = money_text(Decimal(0), order["currency"])
    refresh_current_totals(order)


def refund(
    order: dict, now: int, *, rng: random.Random, new_id: Callable[[], int], line_item_id: int | None = None
) -> None:
    """Refund one whole line: ``line_item_id``, else one chosen at random. ShopError 422 if it has nothing left."""
    active = [line for line in order["line_items"] if line["current_quantity"] > 0]
    if line_item_id is None:
        line = active[0] if len(active) == 1 else rng.choice(active)
    else:
        chosen = [line for line in active if line["id"] == line_item_id]
        if not chosen:
            raise ShopError(422, [f"Line item {line_item_id} has nothing left to refund."])
        line = chosen[0]
    fulfilled = fulfilled_quantity(order, line["id"])
    note = "Returned by the buyer" if fulfilled else "Out of stock"
    order["refunds"].append(refund_record(order, [line], now, new_id=new_id, with_shipping=False, note=note))
    line["current_quantity"] = 0
    line["fulfillable_quantity"] = 0
    refresh_current_totals(order)
    fully = Decimal(order["current_total_price"]) == 0
    order["financial_status"] = "refunded" if fully else "partially_refunded"
    refresh_fulfillment_status(order)


def readdress(order: dict, *, rng: random.Random) -> None:
    """The buyer moves the delivery to another street in the same city."""
    region = REGIONS_BY_CODE[order["shipping_address"]["country_code"]]
    place = next((p for p in region.places if p.city == order["shipping_address"]["city"]), region.places[0])
    address = order["shipping_address"]
    current = {"address1": address["address1"], "address2": address["address2"]}
    new = street(rng, region, place)
    while new == current:  # a change of address must change something
        new = street(rng, region, place)
    address.update(new)


def capture(order: dict) -> None:
    """A pending payment (bank transfer, cash on delivery) arrives."""
    order["financial_status"] = "paid"
    order["total_outstanding"] = money_text(Decimal(0), order["currency"])


def refund_record(
    order: dict, lines: list[dict], now: int, *, new_id: Callable[[], int], with_shipping: bool, note: str
) -> dict:
    """A refund of ``lines`` in full (and of the shipping when ``with_shipping``), as Shopify records it."""
    money = Money(order["currency"], order["presentment_currency"])
    refund_id = new_id()
    refund_lines = []
    refunded = ZERO
    for line in lines:
        subtotal = Money.read(line["price_set"]) * line["current_quantity"] - Money.read(line["total_discount_set"])
        line_tax = sum_pairs(Money.read(t["price_set"]) for t in line["tax_lines"])
        refunded = refunded + subtotal + line_tax
        fulfilled = fulfilled_quantity(order, line["id"])
        refund_lines.append(
            {
                "id": new_id(),
                "line_item_id": line["id"],
                "location_id": LOCATION_ID,
                "quantity": line["current_quantity"],
                "restock_type": "return" if fulfilled else "cancel",
                "subtotal": money.text(subtotal),
                "subtotal_set": money.set(subtotal),
                "total_tax": money.text(line_tax),
                "total_tax_set": money.set(line_tax),
                "line_item": line_summary(line),
            }
        )
    adjustments = []
    if with_shipping:
        shipping_line = order["shipping_lines"][0]
        shipping = Money.read(shipping_line["discounted_price_set"])
        shipping_tax = sum_pairs(Money.read(t["price_set"]) for t in shipping_line["tax_lines"])
        if shipping.presentment > 0 or shipping_tax.presentment > 0:
            refunded = refunded + shipping + shipping_tax
            adjustments.append(
                {
                    "id": new_id(),
                    "order_id": order["id"],
                    "refund_id": refund_id,
                    "kind": "shipping_refund",
                    "reason": "Shipping refund",
                    "amount": money.text(ZERO - shipping),
                    "amount_set": money.set(ZERO - shipping),
                    "tax_amount": money.text(ZERO - shipping_tax),
                    "tax_amount_set": money.set(ZERO - shipping_tax),
                }
            )
    transaction_id = new_id()
    return {
        "id": refund_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order["id"],
        "created_at": iso(now),
        "processed_at": iso(now),
        "note": note,
        "restock": True,
        "user_id": None,
        "refund_line_items": refund_lines,
        "order_adjustments": adjustments,
        "transactions": [
            {
                "id": transaction_id,
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
                "order_id": order["id"],
                "kind": "refund",
                "status": "success",
                "gateway": order["gateway"],
                # A transaction moves the buyer's money.
                "amount": money_text(refunded.presentment, order["presentment_currency"]),
                "currency": order["presentment_currency"],
                "created_at": iso(now),
                "processed_at": iso(now),
                "parent_id": None,
                "test": False,
            }
        ],
        "duties": [],
    }

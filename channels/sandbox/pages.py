"""Read-only HTML pages of the sandbox shop, for a person: its latest orders, one order with its fulfillments,
and its Shopify Payments payouts.

At the paths of Shopify's own admin (``/admin/orders``, ``/admin/orders/<id>``),
so Relay's "see the order on the channel" link works for both. They show
what Relay's fulfillment pushes did: each fulfillment with its tracking company,
number and link, and the order's fulfillment status. Plain Python, every value escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from html import escape
from typing import Any

from channels.sandbox.shop import SHOP_NAME

LATEST = 100  # orders on the list page

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; background: #eaeef2; font-size: 12px; }
.fulfilled, .paid { background: #dafbe1; } .partial, .scheduled { background: #fff8c5; } .muted { color: #656d76; }
"""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · {escape(SHOP_NAME)}</title><style>{_STYLE}</style></head>"
        f'<body><p class="muted"><a href="/admin/orders">{escape(SHOP_NAME)}</a> · '
        '<a href="/admin/payments/payouts">Payouts</a> · sandbox, read-only</p>'
        f"{body}</body></html>"
    )


def order_list_page(orders: Iterable[Mapping[str, Any]]) -> str:
    """The latest orders, newest change first, with payment and fulfillment status."""
    rows = "".join(
        "<tr>"
        f'<td><a href="/admin/orders/{int(order["id"])}">{escape(str(order["name"]))}</a></td>'
        f"<td>{_when(order['created_at'])}</td>"
        f"<td>{escape(_buyer(order))}</td>"
        f"<td>{escape(str(order.get('financial_status') or ''))}</td>"
        f"<td>{_fulfillment_badge(order)}</td>"
        f"<td>{len(order.get('fulfillments') or [])}</td>"
        "</tr>"
        for order in orders
    )
    table = (
        "<table><thead><tr><th>Order</th><th>Placed</th><th>Buyer</th><th>Payment</th><th>Fulfillment</th>"
        f"<th>Fulfillments</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page("Orders", f"<h1>Orders</h1><p class='muted'>The {LATEST} most recently changed.</p>{table}")


def order_page(order: Mapping[str, Any]) -> str:
    """One order: its lines (how many are left to fulfil) and its fulfillments with their tracking."""
    lines = "".join(
        "<tr>"
        f"<td>{escape(str(line.get('sku') or ''))}</td><td>{escape(str(line.get('name') or ''))}</td>"
        f"<td>{int(line['quantity'])}</td><td>{int(line.get('fulfillable_quantity') or 0)}</td>"
        f"<td>{escape(str(line.get('fulfillment_status') or 'unfulfilled'))}</td>"
        "</tr>"
        for line in order.get("line_items") or []
    )
    fulfillments = "".join(_fulfillment_row(fulfillment) for fulfillment in order.get("fulfillments") or [])
    body = (
        f"<h1>Order {escape(str(order['name']))} {_fulfillment_badge(order)}</h1>"
        f"<p>Placed {_when(order['created_at'])} by {escape(_buyer(order))} · payment "
        f"{escape(str(order.get('financial_status') or ''))}"
        f"{' · cancelled ' + _when(order['cancelled_at']) if order.get('cancelled_at') else ''}</p>"
        "<h2>Lines</h2><table><thead><tr><th>SKU</th><th>Item</th><th>Quantity</th><th>Left to fulfil</th>"
        f"<th>Status</th></tr></thead><tbody>{lines}</tbody></table>"
        "<h2>Fulfillments</h2>"
        + (
            "<table><thead><tr><th>Fulfillment</th><th>Created</th><th>Status</th><th>Tracking company</th>"
            f"<th>Tracking number</th><th>Items</th></tr></thead><tbody>{fulfillments}</tbody></table>"
            if fulfillments
            else "<p class='muted'>No fulfillment yet.</p>"
        )
    )
    return page(f"Order {order['name']}", body)


def payout_list_page(payouts: Iterable[Mapping[str, Any]]) -> str:
    """Shopify Payments payouts, newest first: what each paid out and how (charges, refunds, disputes, fees)."""
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(payout['date']))}</td>"
        f'<td><span class="badge {escape(str(payout["status"]))}">{escape(str(payout["status"]))}</span></td>'
        + "".join(
            f"<td>{escape(str(payout['summary'][key]))}</td>"
            for key in ("charges_gross_amount", "refunds_gross_amount", "adjustments_gross_amount")
        )
        + f"<td>{escape(_fees(payout['summary']))}</td>"
        f"<td><strong>{escape(str(payout['amount']))}</strong> {escape(str(payout['currency']))}</td>"
        "</tr>"
        for payout in payouts
    )
    table = (
        "<table><thead><tr><th>Date</th><th>Status</th><th>Charges</th><th>Refunds</th><th>Disputes</th>"
        f"<th>Fees</th><th>Payout</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    note = "<p class='muted'>One payout a shop day; its amount is charges + refunds + disputes − fees.</p>"
    return page("Payouts", f"<h1>Payouts</h1>{note}{table}" if rows else "<h1>Payouts</h1><p>No payouts yet.</p>")


def not_found_page() -> str:
    return page("Not found", "<h1>Not found</h1><p>No such order in the sandbox shop.</p>")


def _fulfillment_row(fulfillment: Mapping[str, Any]) -> str:
    number = escape(str(fulfillment.get("tracking_number") or "—"))
    url = fulfillment.get("tracking_url")
    if url and str(url).startswith(("https://", "http://")):
        number = f'<a href="{escape(str(url))}" rel="noopener noreferrer">{number}</a>'
    items = ", ".join(
        f"{escape(str(item.get('sku') or item.get('name') or ''))} × {int(item.get('quantity') or 0)}"
        for item in fulfillment.get("line_items") or []
    )
    return (
        "<tr>"
        f"<td>{escape(str(fulfillment.get('name') or fulfillment.get('id')))}</td>"
        f"<td>{_when(fulfillment.get('created_at'))}</td>"
        f"<td>{escape(str(fulfillment.get('status') or ''))}</td>"
        f"<td>{escape(str(fulfillment.get('tracking_company') or '—'))}</td>"
        f"<td>{number}</td><td>{items}</td>"
        "</tr>"
    )


def _fees(summary: Mapping[str, Any]) -> str:
    parts = ("charges_fee_amount", "refunds_fee_amount", "adjustments_fee_amount")
    return str(sum((Decimal(str(summary[key])) for key in parts), Decimal(0)))


def _fulfillment_badge(order: Mapping[str, Any]) -> str:
    status = order.get("fulfillment_status") or "unfulfilled"
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def _buyer(order: Mapping[str, Any]) -> str:
    customer = order.get("customer") or {}
    name = " ".join(filter(None, (customer.get("first_name"), customer.get("last_name"))))
    return name or str(order.get("email") or "")


def _when(text: Any) -> str:
    if not text:
        return ""
    try:
        return escape(dt.datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M"))
    except ValueError:
        return escape(str(text))

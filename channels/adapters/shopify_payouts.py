"""Shopify Payments' payouts and balance transactions, read into channels.payouts shapes (pure functions;
ShopifyAdapter.iter_payouts does the requests)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from channels.adapters.reading import currency_code, external_id, parse_signed_money, parse_time, text
from channels.payouts import ChannelPayout, PayoutRow
from orders.canonical import NormalisationError

logger = logging.getLogger(__name__)

# Shopify Payments balance transaction types as PayoutRow kinds; every other type (reserve, advance …) is "other".
PAYOUT_ROW_KINDS = {
    "charge": "charge",
    "refund": "refund",
    "dispute": "chargeback",
    "adjustment": "adjustment",
    "credit": "adjustment",
    "debit": "adjustment",
    "payout": "transfer",
    "payout_failure": "transfer",
    "payout_cancellation": "transfer",
}


def payout_head(raw: Any) -> ChannelPayout:
    """A payout's head (its rows come from another request). Raises NormalisationError."""
    if not isinstance(raw, dict):
        raise NormalisationError("a payout is not an object")
    payout_id = external_id(raw.get("id"), what="payout id")
    what = f"payout {payout_id}"
    summary = raw.get("summary")
    return ChannelPayout(
        id=payout_id,
        date=_date(raw.get("date"), what=f"{what}: date"),
        status=text(raw.get("status")).lower(),
        currency=currency_code(raw.get("currency"), what=f"{what}: currency"),
        amount=parse_signed_money(raw.get("amount"), what=f"{what}: amount"),
        summary=dict(summary) if isinstance(summary, dict) else {},
    )


def payout_row(raw: Any, *, payout_id: str) -> PayoutRow:
    """One balance transaction of payout ``payout_id`` as a PayoutRow. Raises NormalisationError."""
    if not isinstance(raw, dict):
        raise NormalisationError("a transaction is not an object")
    reference = external_id(raw.get("id"), what="transaction id")
    what = f"transaction {reference}"
    if text(raw.get("payout_id")) not in ("", payout_id):
        raise NormalisationError(f"{what} belongs to payout {text(raw.get('payout_id'))}")
    kind = text(raw.get("type"))
    amount = parse_signed_money(raw.get("amount"), what=f"{what}: amount")
    fee = parse_signed_money(raw.get("fee"), what=f"{what}: fee") if text(raw.get("fee")) else Decimal(0)
    net = parse_signed_money(raw.get("net"), what=f"{what}: net") if text(raw.get("net")) else amount - fee
    if net != amount - fee:  # Shopify's net stands; the row's own net is amount - fee
        logger.info("shopify transaction net differs from amount less fee", extra={"transaction": reference})
    # A credit or debit may name the orders it adjusts instead of a source order.
    adjusted = [t["order"] for t in raw.get("adjustment_order_transactions") or [] if isinstance(t, dict)
                and isinstance(t.get("order"), dict)]  # fmt: skip
    order_ids = {text(order.get("id")) for order in adjusted} - {""}
    order_names = {text(order.get("name")) for order in adjusted} - {""}
    order_id = text(raw.get("source_order_id")) or (order_ids.pop() if len(order_ids) == 1 else "")
    reason = text(raw.get("adjustment_reason"))
    extra: dict[str, Any] = {
        "type": kind,
        "net": str(net),
        "test": raw.get("test") is True,
        "payout_status": text(raw.get("payout_status")),
        "source_type": text(raw.get("source_type")),
        "source_id": text(raw.get("source_id")),
        "source_order_transaction_id": text(raw.get("source_order_transaction_id")),
    }
    if order_id:
        extra["order_external_id"] = order_id
    if reason:
        extra["adjustment_reason"] = reason
    return PayoutRow(
        kind=PAYOUT_ROW_KINDS.get(kind.lower(), "other"),
        occurred_at=parse_time(raw.get("processed_at"), what=f"{what}: processed_at"),
        currency=currency_code(raw.get("currency"), what=f"{what}: currency"),
        amount=amount,
        fee=fee,
        reference=reference,
        order_number=order_names.pop() if len(order_names) == 1 else "",
        payout_reference=payout_id,
        description=f"{kind}: {reason}" if reason else kind,
        extra=extra,
    )


def _date(value: Any, *, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text(value))
    except ValueError:
        raise NormalisationError(f"{what} is not a date: {text(value)[:40]!r}") from None

"""Money movements a channel or payment provider reports (payouts, balance transactions), as one shape.

Adapters (channels/adapters/, e.g. Shopify Payments' API) and the payout file readers
(settlement/payout_formats.py) produce ``PayoutRow``; settlement's reconciliation stores and matches them
(settlement.models.PayoutItem has the same fields).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class PayoutRow:
    """One movement. ``amount`` is gross and signed (a charge +, a refund or chargeback −, a transfer to the
    bank −); ``fee`` is what the provider kept for it (positive; negative when a fee is given back).
    ``reference`` is the provider's own id of the transaction (unique per store; blank when it has none);
    ``order_number`` is the order as the channel or merchant names it (blank when the row is not an order's).
    ``row`` is the line in the file it came from (None for an API)."""

    kind: str  # settlement.models.PayoutItem.Kind: charge, refund, chargeback, fee, adjustment, transfer, other
    occurred_at: dt.datetime  # aware
    currency: str
    amount: Decimal
    fee: Decimal = Decimal(0)
    reference: str = ""
    order_number: str = ""
    payout_reference: str = ""
    description: str = ""
    row: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee


@dataclass(frozen=True)
class ChannelPayout:
    """One transfer of a channel's payment balance to the merchant's bank, with the movements it pays out.

    ``amount`` is what reached (or will reach) the bank, signed as the channel gives it; for Shopify
    Payments it equals the sum of the ``net`` of its rows other than the ``transfer`` row, which carries
    ``-amount``. ``status`` is the channel's word (Shopify: scheduled, in_transit, paid, failed, canceled).
    ``summary`` is the channel's own breakdown as it gave it (Shopify: ``charges_gross_amount`` … as text).
    """

    id: str
    date: dt.date
    status: str
    currency: str
    amount: Decimal
    summary: dict = field(default_factory=dict, compare=False)
    rows: list[PayoutRow] = field(default_factory=list)

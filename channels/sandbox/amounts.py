"""The sandbox shop's money: every amount in the shop's currency and in the buyer's, rounded by core.money.

Amounts are made in the buyer's (presentment) currency first and each part is
converted on its own, so in both currencies every aggregate is the sum of
its parts. Rates are fixed so that amounts are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from core.money import quantum, round_money

# Units of each currency per US dollar.
RATES: Mapping[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CNY": Decimal("7.20"),
    "JPY": Decimal("150"),
    "AUD": Decimal("1.52"),
}


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as Shopify writes it: text with the currency's decimals ("12.30", "1800" for JPY)."""
    return str(round_money(amount, currency))


@dataclass(frozen=True)
class Pair:
    """One amount in the shop's money and in the buyer's."""

    shop: Decimal
    presentment: Decimal

    def __add__(self, other: Pair) -> Pair:
        return Pair(self.shop + other.shop, self.presentment + other.presentment)

    def __sub__(self, other: Pair) -> Pair:
        return Pair(self.shop - other.shop, self.presentment - other.presentment)

    def __mul__(self, factor: int) -> Pair:
        return Pair(self.shop * factor, self.presentment * factor)


ZERO = Pair(Decimal(0), Decimal(0))


def sum_pairs(pairs: Iterable[Pair]) -> Pair:
    result = ZERO
    for pair in pairs:
        result = result + pair
    return result


@dataclass(frozen=True)
class Money:
    """One order's two currencies: how an amount is converted and written out."""

    shop_currency: str
    presentment_currency: str

    def pair(self, presentment: Decimal) -> Pair:
        """The amount in the buyer's currency with its shop-currency counterpart, each rounded on its own."""
        presentment = round_money(presentment, self.presentment_currency)
        shop = presentment / RATES[self.presentment_currency] * RATES[self.shop_currency]
        return Pair(round_money(shop, self.shop_currency), presentment)

    def text(self, pair: Pair) -> str:
        return money_text(pair.shop, self.shop_currency)

    def set(self, pair: Pair) -> dict[str, dict[str, str]]:
        return {
            "shop_money": {"amount": money_text(pair.shop, self.shop_currency), "currency_code": self.shop_currency},
            "presentment_money": {
                "amount": money_text(pair.presentment, self.presentment_currency),
                "currency_code": self.presentment_currency,
            },
        }

    @staticmethod
    def read(price_set: Mapping[str, Any]) -> Pair:
        return Pair(Decimal(price_set["shop_money"]["amount"]), Decimal(price_set["presentment_money"]["amount"]))


def spread(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """``amount`` split in proportion to ``weights`` to the minor unit; the parts always sum to the amount.

    Shopify's own allocation of a fixed discount over lines, imitated here
    rather than borrowed from orders.apportionment: the stand-in channel must
    not share the code it is there to test.
    """
    unit = quantum(currency)
    whole = sum(weights, Decimal(0))
    raw = [amount * weight / whole for weight in weights]
    parts = [round_money(share, currency, rounding=ROUND_DOWN) for share in raw]
    left = int((amount - sum(parts, Decimal(0))) / unit)
    # Largest remainders first; ties go to the earlier line so the result is reproducible.
    for index in sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))[:left]:
        parts[index] += unit
    return parts

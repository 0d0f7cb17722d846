"""Apportionment (分摊): spreading an order-level amount over its lines to the cent.

Order discounts and shipping are charged on the order, but returns, supplier
settlement and margin reports need them per line. Splitting in proportion
and rounding each part independently loses or invents cents, so parts are
allotted by the largest-remainder method: every line first gets the whole
minor units of its exact share, then the units still unallotted go one each
to the lines whose exact share had the largest fractional remainder. The parts
are then always whole minor units, each within one unit of its exact share,
and they sum to the whole exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from core.money import minor_unit


class LineApportionment(NamedTuple):  # a named tuple: made per line on the ingest's hot path
    gross: Decimal  # quantity * unit price
    line_discount: Decimal  # the channel's discount already on this line
    order_discount_share: Decimal  # this line's part of the order-level discount
    shipping_share: Decimal  # this line's part of the shipping
    net: Decimal  # gross - line_discount - order_discount_share + shipping_share


def apportion(*, line_amounts: Sequence[Decimal], amount: Decimal, currency: str) -> list[Decimal]:
    """Split ``amount`` over lines in proportion to ``line_amounts`` (the weights).

    Guarantees: one part per weight, in the same order; every part is a whole
    multiple of the currency's minor unit; the parts sum exactly to ``amount``;
    each part is within one minor unit of its exact proportional value; a
    larger weight never gets a smaller part. Leftover units go to the largest
    fractional remainders, ties to the larger weight and then to the earlier
    line, so the result is deterministic. When every weight is zero the amount
    is split evenly, earlier lines taking the odd units. A negative amount is
    split as the mirror image of the positive one.

    Raises ValueError when ``amount`` is not a whole number of minor units, a
    weight is negative or not finite, or a non-zero amount has no lines.
    """
    places = minor_unit(currency)
    units = _units(amount, places=places, what="the amount to apportion")
    weights = [_weight(weight) for weight in line_amounts]
    if not weights:
        if units:
            raise ValueError(f"cannot apportion {amount} {currency} over no lines")
        return []
    sign, units = (-1, -units) if units < 0 else (1, units)
    # Scaled to a common denominator the weights are integers with the same proportions.
    denominator = math.lcm(*(weight.denominator for weight in weights))
    parts = _split(units, [weight.numerator * (denominator // weight.denominator) for weight in weights])
    return [_money(sign * part, places=places) for part in parts]


def apportion_order(
    *,
    lines: Sequence[tuple[Decimal, Decimal]],
    order_discount: Decimal,
    shipping: Decimal,
    currency: str,
) -> list[LineApportionment]:
    """Each line's share of the order-level discount and of the shipping, and its net amount.

    ``lines`` are (gross, line_discount) pairs, gross being quantity * unit
    price; ``order_discount`` is the order-level discount not already on any
    line. Both the discount and the shipping are apportioned by what each line
    costs after its own discount (gross - line_discount).

    Guarantees: sum(net) == sum(gross) - sum(line_discount) - order_discount
    + shipping exactly, and no line's goods go below zero because of its
    share of the order discount (a share is at most its line's goods, since
    the discount is at most the goods and the shares are proportional).

    Raises ValueError when an amount is negative or not a whole number of
    minor units, a line discount exceeds its line, the order discount exceeds
    the goods after line discounts, or there is a non-zero amount but no line.
    """
    places = minor_unit(currency)
    goods: list[int] = []  # in minor units: whole numbers, so they weigh exactly as integers
    for position, (gross, line_discount) in enumerate(lines, start=1):
        # The usual amounts the short way; anything else through _units, which names it in its refusal.
        gross_units = _whole(gross, places)
        if gross_units is None:
            gross_units = _units(gross, places=places, what=f"line {position}'s gross amount", negative=False)
        discount_units = _whole(line_discount, places)
        if discount_units is None:
            discount_units = _units(line_discount, places=places, what=f"line {position}'s discount", negative=False)
        if discount_units > gross_units:
            raise ValueError(f"line {position}'s discount {line_discount} is more than the line's gross {gross}")
        goods.append(gross_units - discount_units)
    discount_units = _units(order_discount, places=places, what="the order discount", negative=False)
    shipping_units = _units(shipping, places=places, what="the shipping", negative=False)
    if discount_units > sum(goods):
        raise ValueError(
            f"the order discount {order_discount} {currency} is more than the goods after line discounts "
            f"({_money(sum(goods), places=places)} {currency})"
        )
    if (discount_units or shipping_units) and not goods:
        raise ValueError(f"cannot apportion {order_discount + shipping} {currency} over no lines")
    zero = _money(0, places=places)
    # In whole units to the end (net = goods - discount share + shipping share), each made a Decimal once.
    return [
        LineApportionment(
            gross,
            line_discount,
            _money(discount_part, places=places) if discount_part else zero,
            _money(shipping_part, places=places) if shipping_part else zero,
            _money(goods_units - discount_part + shipping_part, places=places),
        )
        for (gross, line_discount), goods_units, discount_part, shipping_part in zip(
            lines, goods, _split(discount_units, goods), _split(shipping_units, goods), strict=True
        )
    ]


def _split(units: int, weights: list[int]) -> list[int]:
    """``units`` (>= 0) split over integer ``weights`` (>= 0) by largest remainder; see ``apportion``.

    Each exact share is ``units * w / total``; its floor and remainder are exact
    integers, so remainders compare exactly and equal ones really are ties.
    """
    count = len(weights)
    if units == 0:
        return [0] * count
    total = sum(weights)
    if total == 0:
        base, extra = divmod(units, count)
        return [base + (1 if index < extra else 0) for index in range(count)]
    parts, remainders = [], []
    for weight in weights:
        part, remainder = divmod(units * weight, total)
        parts.append(part)
        remainders.append(remainder)
    leftover = units - sum(parts)
    by_claim = sorted(range(count), key=lambda index: (-remainders[index], -weights[index], index))
    for index in by_claim[:leftover]:
        parts[index] += 1
    return parts


def _whole(amount: Decimal, places: int) -> int | None:
    """A non-negative Decimal that is a whole number of minor units, as that number; None for anything else."""
    if type(amount) is Decimal and amount.is_finite():  # the usual case, checked the short way (ingest's hot path)
        scaled = amount.scaleb(places)
        units = int(scaled)
        if units == scaled and amount >= 0:
            return units
    return None


def _units(amount: Decimal, *, places: int, what: str, negative: bool = True) -> int:
    """``amount`` as a whole number of minor units; ValueError if it is not one."""
    units = _whole(amount, places)
    if units is not None:
        return units
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise ValueError(f"{what} must be a Decimal, not {type(amount).__name__}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"{what} is not an amount: {amount}")
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} ({amount}) has more decimals than the currency allows ({places})")
    if not negative and amount < 0:
        raise ValueError(f"{what} must not be negative ({amount})")
    return int(scaled)


def _weight(weight: Decimal) -> Fraction:
    if isinstance(weight, bool) or not isinstance(weight, int | Decimal):
        raise ValueError(f"a line amount must be a Decimal, not {type(weight).__name__}")
    if not Decimal(weight).is_finite() or weight < 0:
        raise ValueError(f"a line amount must be a non-negative number, not {weight}")
    return Fraction(weight)


def _money(units: int, *, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)

"""Reading a channel's payload: amounts, quantities, times, ids, codes and names, and the checks on what was read.

Every adapter's ``normalise`` reads its channel's values through these, so a
payload is accepted or refused the same way whatever the channel, and a refusal
(``NormalisationError``) names the field for a person. The usual value is read
the short way first (ingest's hot path); anything else takes the careful path.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import quantum
from orders.canonical import ChannelOrder, ChannelOrderLine, NormalisationError

logger = logging.getLogger(__name__)


def parse_money(value: Any, *, what: str) -> Decimal:
    """A non-negative amount from the channel's text. Raises NormalisationError naming ``what``."""
    if type(value) is str:  # the usual case, read the short way (Decimal takes the surrounding spaces strip() drops)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = None
        if amount is not None and amount.is_finite() and amount >= 0:
            return amount
    if isinstance(value, bool) or value is None or value == "":
        raise NormalisationError(f"{what} is missing")
    if isinstance(value, float):
        # A JSON number from a plugin: its shortest repr is the decimal text the
        # channel wrote, so no binary rounding leaks into the amount.
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise NormalisationError(f"{what} is not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise NormalisationError(f"{what} is not an amount: {str(value)[:40]!r}")
    if amount < 0:
        raise NormalisationError(f"{what} is negative ({amount})")
    return amount


def parse_signed_money(value: Any, *, what: str) -> Decimal:
    """An amount that may be negative ("-3.45", -3.45): a refund, a fee used as a discount. Raises
    NormalisationError naming ``what`` when it is missing or not an amount."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_money(value.strip()[1:], what=what)
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return -parse_money(-value, what=what)
    return parse_money(value, what=what)


def parse_optional_money(value: Any, *, what: str) -> Decimal:
    """Like parse_money, but a missing amount is zero."""
    if value is None or value == "":
        return Decimal(0)
    return parse_money(value, what=what)


def parse_quantity(value: Any, *, what: str) -> int:
    """A whole, positive quantity; "2" is accepted, 2.5, "many" and 0 are not."""
    if isinstance(value, bool):
        raise NormalisationError(f"{what} is not a whole number: {value!r}")
    if isinstance(value, int):
        quantity = value
    elif isinstance(value, str) and value.strip().isdigit():
        quantity = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        quantity = int(value)
    else:
        raise NormalisationError(f"{what} is not a whole number: {str(value)[:40]!r}")
    if quantity < 1:
        raise NormalisationError(f"{what} must be at least 1, not {quantity}")
    return quantity


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any, *, what: str, naive_is_utc: bool = False) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 text. A naive time is refused unless ``naive_is_utc``."""
    if not isinstance(value, str) or not value.strip():
        raise NormalisationError(f"{what} is missing")
    moment = _utc_moment(value, naive_is_utc)
    if moment is None:
        raise NormalisationError(f"{what} is not a date and time: {value[:40]!r}")
    if moment is _NAIVE:
        raise NormalisationError(f"{what} has no time zone: {value[:40]!r}")
    return moment


_NAIVE = dt.datetime.min  # stands for "a time without a zone" in _utc_moment's answers


# An order's times repeat (created_at is often its updated_at, read again to skip it): read each text once.
# datetimes are immutable, so sharing one is safe.
@functools.lru_cache(maxsize=4096)
def _utc_moment(value: str, naive_is_utc: bool) -> dt.datetime | None:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(r"\1", text)  # Python keeps microseconds; some channels send nanoseconds
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        if not naive_is_utc:
            return _NAIVE
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_optional_time(value: Any, *, what: str, naive_is_utc: bool = False) -> dt.datetime | None:
    if value is None or value == "":
        return None
    return parse_time(value, what=what, naive_is_utc=naive_is_utc)


def external_id(value: Any, *, what: str) -> str:
    """A channel id as text; refuses a missing or empty one."""
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise NormalisationError(f"{what} is missing")
    if not isinstance(value, int | str):
        raise NormalisationError(f"{what} is not an id: {str(value)[:40]!r}")
    return str(value).strip()


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def currency_code(value: Any, *, what: str) -> str:
    """An ISO 4217-shaped code (three letters, upper-cased); NormalisationError naming ``what`` otherwise.

    A well-formed code Relay does not list is accepted: the channel knows its
    currencies better, and core.money gives an unknown code two decimals.
    """
    code = text(value).upper()
    if not _CURRENCY_CODE.fullmatch(code):
        raise NormalisationError(f"{what} is missing or not a code ({code!r})")
    return code


def text(value: Any) -> str:
    """Optional text from a payload: None becomes "", anything else its string, stripped."""
    return "" if value is None else str(value).strip()


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def person_name(first: Any, last: Any) -> str:
    """A person's name from its parts; Chinese, Japanese and Korean names read family name first, unspaced."""
    first, last = text(first), text(last)
    if first and last and _CJK.search(first) and _CJK.search(last):
        return f"{last}{first}"
    return " ".join(filter(None, (first, last)))


def check_lines(*, order_id: str, lines: list[ChannelOrderLine], discount_total: Decimal) -> None:
    """Refuse amounts that cannot be spread over the lines (a discount larger than what it discounts)."""
    if not lines:
        raise NormalisationError(f"order {order_id} has no line items")
    for line in lines:
        gross = line.unit_price * line.quantity
        if line.line_discount > gross:
            raise NormalisationError(
                f"line {line.external_id}: discount {line.line_discount} is more than its amount {gross}"
            )
    if discount_total > sum((line.unit_price * line.quantity for line in lines), Decimal(0)):
        raise NormalisationError(f"order {order_id}: discount {discount_total} is more than the goods it discounts")


def log_if_inconsistent(order: ChannelOrder, *, tax_included: bool = False) -> None:
    """Our parts should add up to the channel's total; when they don't, the channel's total still stands."""
    tax = Decimal(0) if tax_included else order.tax_total
    expected = order.subtotal - order.discount_total + order.shipping_total + tax
    if abs(expected - order.total) >= quantum(order.currency):
        logger.info(
            "channel order total differs from its parts",
            extra={"order": order.external_id, "total": str(order.total), "parts": str(expected)},
        )

"""Shopify Payments in the sandbox shop: payouts and balance transactions made from its orders.

What Shopify Payments would have paid out, derived from the orders as they stand now:

- an order paid through ``shopify_payments`` is a charge when it was paid (its processed_at) of its
  total in the shop's currency, with a fee of 2.9% + 0.30 (in the shop's currency, rounded to its minor
  unit). Orders paid by PayPal, bank deposit or cash on delivery never reach Shopify Payments;
- each refund of such an order is a refund transaction of minus what it gave back, no fee returned;
- about one such order in 40, chosen by the shop's seed, is disputed by the buyer between 2 and 48
  hours after paying: a dispute of minus what was still held, with a 15.00 fee. A refund after the
  dispute is not paid out again (Shopify refuses to refund a disputed payment);
- the transactions of one shop day make one payout dated that day: "scheduled" while the day lasts,
  "paid" after. Its amount is exactly the sum of their nets, and a ``payout`` transaction of minus that
  amount moves it to the bank, as Shopify lists it.

Ids are derived from the seed and what a transaction comes from, so they stay the same across requests
and restarts, and a past day's payout never changes. Only orders changed since the last request are
read again. Plain Python, like the rest of the sandbox.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from channels.sandbox.amounts import money_text
from channels.sandbox.filters import DEFAULT_LIMIT, MAX_LIMIT, OrderFilter
from channels.sandbox.generator import SandboxShop
from channels.sandbox.shop import SHOP_TIMEZONE, ShopError, epoch, iso
from core.money import round_money

GATEWAY = "shopify_payments"
FEE_RATE = Decimal("0.029")
FEE_FIXED = Decimal("0.30")
DISPUTE_FEE = Decimal("15.00")
DISPUTE_ONE_IN = 40
DISPUTE_AFTER = (2 * 3600, 48 * 3600)  # seconds after payment
PAYOUT_STATUSES = frozenset({"scheduled", "in_transit", "paid", "failed", "canceled"})
# Orders changed this close before the last one read are read again: a change is stamped at the shop's
# clock or one second after the order's previous stamp, so it may sort a little before that one.
SYNC_MARGIN = 600
_PAID = frozenset({"paid", "partially_refunded", "refunded"})
_SOURCE_TYPES = {"charge": "charge", "refund": "Payments::Refund", "dispute": "Payments::Dispute"}
_PAYOUT_FILTERS = frozenset({"date_min", "date_max", "date", "status", "since_id", "last_id"})
_TRANSACTION_FILTERS = frozenset({"payout_id", "payout_status", "test", "since_id", "last_id"})
_PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit"})
_PAGING_HELP = "See https://shopify.dev/api/usage/pagination-rest for more information."

Answer = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class Movement:
    """One balance transaction before it is placed in a payout."""

    id: int
    type: str  # charge, refund or dispute
    at: int  # epoch seconds
    amount: Decimal
    fee: Decimal
    source_id: int
    source_type: str
    order_id: int
    order_transaction_id: int

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee


def derived_id(seed: int, *parts: Any) -> int:
    """A 12-digit id that depends only on the seed and ``parts``."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return 100_000_000_000 + int.from_bytes(digest, "big") % 900_000_000_000


def dispute_moment(order: Mapping[str, Any], *, seed: int) -> int | None:
    """When the buyer disputes this order's payment (epoch seconds), or None for the ~39 in 40 who don't."""
    if derived_id(seed, "dispute?", order["id"]) % DISPUTE_ONE_IN:
        return None
    low, high = DISPUTE_AFTER
    return epoch(order["processed_at"]) + low + derived_id(seed, "dispute after", order["id"]) % (high - low)


def order_movements(order: Mapping[str, Any], *, seed: int) -> list[Movement]:
    """The balance transactions one order brings, whenever they happen (a dispute may still be to come)."""
    if order["gateway"] != GATEWAY or order["financial_status"] not in _PAID:
        return []
    order_id = order["id"]
    sale_id = derived_id(seed, "sale", order_id)

    def movement(kind: str, source: int, at: int, amount: Decimal, fee: Decimal = Decimal(0)) -> Movement:
        own_id = derived_id(seed, kind, source)
        return Movement(
            id=own_id, type=kind, at=at, amount=amount, fee=fee, source_id=own_id if kind == "charge" else source,
            source_type=_SOURCE_TYPES[kind], order_id=order_id,
            order_transaction_id=source if kind == "refund" else sale_id,
        )  # fmt: skip

    charged = Decimal(order["total_price"])
    fee = round_money(charged * FEE_RATE + FEE_FIXED, order["currency"])
    moves = [movement("charge", order_id, epoch(order["processed_at"]), charged, fee)]
    disputed_at = dispute_moment(order, seed=seed)
    held = charged
    after_dispute: list[Movement] = []
    for refund in sorted(order["refunds"], key=lambda refund: (epoch(refund["processed_at"]), refund["id"])):
        (transaction,) = refund["transactions"]
        move = movement("refund", transaction["id"], epoch(refund["processed_at"]), -_refunded(refund))
        if disputed_at is not None and move.at >= disputed_at:
            after_dispute.append(move)
        else:
            held += move.amount
            moves.append(move)
    if disputed_at is not None and held > 0:
        moves.append(movement("dispute", derived_id(seed, "dispute", order_id), disputed_at, -held, DISPUTE_FEE))
    else:
        moves.extend(after_dispute)
    return moves


def _refunded(refund: Mapping[str, Any]) -> Decimal:
    """What a refund gave back, in the shop's currency: its lines with their tax, and refunded shipping."""
    lines = sum(
        (
            _shop_money(item["subtotal_set"]) + _shop_money(item["total_tax_set"])
            for item in refund["refund_line_items"]
        ),
        Decimal(0),
    )
    # Shipping refunds are order adjustments written negative.
    shipping = sum(
        (_shop_money(a["amount_set"]) + _shop_money(a["tax_amount_set"]) for a in refund["order_adjustments"]),
        Decimal(0),
    )
    return lines - shipping


def _shop_money(price_set: Mapping[str, Any]) -> Decimal:
    return Decimal(price_set["shop_money"]["amount"])


@dataclass(frozen=True)
class Ledger:
    """The payouts (newest first) and each one's balance transactions (newest first), as Shopify writes them."""

    payouts: list[dict]
    transactions: dict[int, list[dict]]

    def all_transactions(self) -> list[dict]:
        return sorted((t for ts in self.transactions.values() for t in ts), key=_transaction_key, reverse=True)


class Payments:
    """The shop's Shopify Payments account, kept in step with its orders. Thread-safe.

    ``clock`` is the shop's time (epoch seconds): which day is today and which disputes have happened.
    """

    def __init__(self, shop: SandboxShop, *, clock: Callable[[], float] = time.time):
        self._shop = shop
        self._clock = clock
        self._lock = threading.Lock()
        self._movements: dict[int, list[Movement]] = {}
        self._read_to: int | None = None  # the latest updated_at read, epoch seconds

    # -------------------------------------------------------------- the API's resources

    def payouts(self, query: Mapping[str, str], *, link_base: str) -> Answer:
        """GET shopify_payments/payouts.json: filters date_min, date_max, date, status, since_id, last_id."""
        filters, cursor, limit = _paging(query, _PAYOUT_FILTERS)
        for name in ("date_min", "date_max", "date"):
            if name in filters:
                _date(filters[name], name)
        if "status" in filters and filters["status"] not in PAYOUT_STATUSES:
            raise ShopError(400, {"status": "Invalid value."})
        wanted = [payout for payout in self.ledger().payouts if _payout_matches(payout, filters)]
        return _answer(
            "payouts", wanted, sort_key=_payout_key, filters=filters, cursor=cursor, limit=limit, link_base=link_base
        )

    def payout(self, payout_id: int) -> Answer:
        """GET shopify_payments/payouts/<id>.json."""
        for payout in self.ledger().payouts:
            if payout["id"] == payout_id:
                return 200, {"payout": payout}, {}
        return 404, {"errors": "Not Found"}, {}

    def transactions(self, query: Mapping[str, str], *, link_base: str) -> Answer:
        """GET shopify_payments/balance/transactions.json: filters payout_id, payout_status, test, since_id, last_id."""
        filters, cursor, limit = _paging(query, _TRANSACTION_FILTERS)
        if "test" in filters and filters["test"] not in ("true", "false"):
            raise ShopError(400, {"test": "Invalid value."})
        ledger = self.ledger()
        if "payout_id" in filters:
            listed = ledger.transactions.get(_id(filters["payout_id"], "payout_id"), [])
        else:
            listed = ledger.all_transactions()
        wanted = [t for t in listed if _transaction_matches(t, filters)]
        return _answer(
            "transactions",
            wanted,
            sort_key=_transaction_key,
            filters=filters,
            cursor=cursor,
            limit=limit,
            link_base=link_base,
        )

    # -------------------------------------------------------------- the ledger

    def ledger(self) -> Ledger:
        """Payouts and balance transactions as they stand at the clock's now."""
        with self._lock:
            self._read_changes()
            moves = [move for moves in self._movements.values() for move in moves]
        now = int(self._clock())
        today = dt.datetime.fromtimestamp(now, SHOP_TIMEZONE).date()
        by_day: dict[dt.date, list[Movement]] = defaultdict(list)
        for move in moves:
            if move.at <= now:
                by_day[dt.datetime.fromtimestamp(move.at, SHOP_TIMEZONE).date()].append(move)
        currency, seed = self._shop.currency, self._shop.seed
        payouts, transactions = [], {}
        for day, day_moves in by_day.items():
            payout_id = derived_id(seed, "payout", day.isoformat())
            status = "paid" if day < today else "scheduled"
            amount = sum((move.net for move in day_moves), Decimal(0))
            payouts.append(
                {
                    "id": payout_id,
                    "status": status,
                    "date": day.isoformat(),
                    "currency": currency,
                    "amount": money_text(amount, currency),
                    "summary": _summary(day_moves, currency),
                }
            )
            listed = [_transaction(move, payout_id, status, currency) for move in day_moves]
            listed.append(_transfer(seed, day, payout_id=payout_id, status=status, amount=amount, currency=currency))
            transactions[payout_id] = sorted(listed, key=_transaction_key, reverse=True)
        payouts.sort(key=_payout_key, reverse=True)
        return Ledger(payouts=payouts, transactions=transactions)

    def _read_changes(self) -> None:
        """Read the orders changed since the last read (all of them the first time, or when any was missed)."""
        since = None if self._read_to is None else self._read_to - SYNC_MARGIN
        self._read(since)
        if len(self._movements) != len(self._shop):  # orders are never deleted: one was missed
            self._movements.clear()
            self._read(None)

    def _read(self, since: int | None) -> None:
        seed = self._shop.seed
        flt = OrderFilter(status="any", updated_at_min=dt.datetime.fromtimestamp(since, dt.UTC) if since else None)
        after = None
        while True:
            page = self._shop.page_orders(flt, limit=MAX_LIMIT, after=after)
            for order in page.orders:
                self._movements[order["id"]] = order_movements(order, seed=seed)
                self._read_to = max(self._read_to or 0, epoch(order["updated_at"]))
            if not page.has_next:
                return
            last = page.orders[-1]
            after = (dt.datetime.fromisoformat(last["updated_at"]), last["id"])


def payment_routes(payments: Payments, query: Mapping[str, str], *, api_base: str) -> tuple:
    """The server's routing rows (method, resource pattern, action) for Shopify Payments under ``api_base``."""
    base = f"{api_base}/shopify_payments"
    return (
        ("GET", r"shopify_payments/payouts\.json", lambda: payments.payouts(query, link_base=f"{base}/payouts.json")),
        ("GET", r"shopify_payments/payouts/(\d+)\.json", lambda payout_id: payments.payout(int(payout_id))),
        (
            "GET",
            r"shopify_payments/balance/transactions\.json",
            lambda: payments.transactions(query, link_base=f"{base}/balance/transactions.json"),
        ),
    )


# ---------------------------------------------------------------------- resources


def _transaction(move: Movement, payout_id: int, status: str, currency: str) -> dict:
    return {
        "id": move.id,
        "type": move.type,
        "test": False,
        "payout_id": payout_id,
        "payout_status": status,
        "currency": currency,
        "amount": money_text(move.amount, currency),
        "fee": money_text(move.fee, currency),
        "net": money_text(move.net, currency),
        "source_id": move.source_id,
        "source_type": move.source_type,
        "source_order_id": move.order_id,
        "source_order_transaction_id": move.order_transaction_id,
        "processed_at": iso(move.at),
        "adjustment_order_transactions": None,
        "adjustment_reason": None,
    }


def _transfer(seed: int, day: dt.date, *, payout_id: int, status: str, amount: Decimal, currency: str) -> dict:
    """The payout's own transaction: its amount leaving the balance for the bank, at the start of its day."""
    start = dt.datetime.combine(day, dt.time(), SHOP_TIMEZONE)
    return {
        "id": derived_id(seed, "transfer", day.isoformat()),
        "type": "payout",
        "test": False,
        "payout_id": payout_id,
        "payout_status": status,
        "currency": currency,
        "amount": money_text(-amount, currency),
        "fee": money_text(Decimal(0), currency),
        "net": money_text(-amount, currency),
        "source_id": payout_id,
        "source_type": "payout",
        "source_order_id": None,
        "source_order_transaction_id": None,
        "processed_at": start.isoformat(),
        "adjustment_order_transactions": None,
        "adjustment_reason": None,
    }


def _summary(moves: list[Movement], currency: str) -> dict[str, str]:
    """Shopify's breakdown of a payout: gross and fees of charges, refunds and adjustments (disputes)."""
    parts = {"charges": "charge", "refunds": "refund", "adjustments": "dispute"}
    summary = {}
    for name, kind in parts.items():
        summary[f"{name}_fee_amount"] = money_text(sum((m.fee for m in moves if m.type == kind), Decimal(0)), currency)
        summary[f"{name}_gross_amount"] = money_text(
            sum((m.amount for m in moves if m.type == kind), Decimal(0)), currency
        )
    for name in ("reserved_funds", "retried_payouts"):
        summary[f"{name}_fee_amount"] = summary[f"{name}_gross_amount"] = money_text(Decimal(0), currency)
    return dict(sorted(summary.items()))


def _payout_key(payout: Mapping[str, Any]) -> tuple:
    return (payout["date"], payout["id"])


def _transaction_key(transaction: Mapping[str, Any]) -> tuple:
    return (epoch(transaction["processed_at"]), transaction["id"])


def _payout_matches(payout: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    day = payout["date"]
    return (
        day >= filters.get("date_min", day)
        and day <= filters.get("date_max", day)
        and day == filters.get("date", day)
        and payout["status"] == filters.get("status", payout["status"])
        and _ids_match(payout["id"], filters)
    )


def _transaction_matches(transaction: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    return (
        transaction["payout_status"] == filters.get("payout_status", transaction["payout_status"])
        and ("test" not in filters or transaction["test"] == (filters["test"] == "true"))
        and _ids_match(transaction["id"], filters)
    )


def _ids_match(item_id: int, filters: Mapping[str, str]) -> bool:
    since = _id(filters["since_id"], "since_id") if "since_id" in filters else None
    last = _id(filters["last_id"], "last_id") if "last_id" in filters else None
    return (since is None or item_id > since) and (last is None or item_id < last)


# ---------------------------------------------------------------------- paging (Link header, page_info)


def _paging(query: Mapping[str, str], allowed: frozenset[str]) -> tuple[dict[str, str], tuple | None, int]:
    """(filters, cursor, limit) of a list request; ShopError 400 as Shopify answers a bad one."""
    limit = _limit(query.get("limit"))
    if "page_info" not in query:
        return {key: value for key, value in query.items() if key in allowed and value != ""}, None, limit
    extra = sorted(set(query) - _PAGE_INFO_COMPANIONS)
    if extra:
        raise ShopError(400, f"{extra[0]} cannot be passed when page_info is present. {_PAGING_HELP}")
    invalid = ShopError(400, {"page_info": "Invalid value."})
    token = query["page_info"]
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError):
        raise invalid from None
    if (
        not isinstance(cursor, dict)
        or cursor.get("direction") not in ("next", "prev")
        or not isinstance(cursor.get("last"), list)
        or not isinstance(cursor.get("filters"), dict)
        or not set(cursor["filters"]) <= allowed
    ):
        raise invalid
    return cursor["filters"], (cursor["direction"], tuple(cursor["last"])), limit


def _answer(
    key: str,
    items: list[dict],
    *,
    sort_key: Callable[[Mapping[str, Any]], tuple],
    filters: dict[str, str],
    cursor: tuple | None,
    limit: int,
    link_base: str,
) -> Answer:
    """One page of ``items`` (sorted newest first) after or before ``cursor``, with Shopify's Link header."""
    try:
        if cursor is None:
            chosen, has_previous, has_next = items[:limit], False, len(items) > limit
        elif cursor[0] == "next":
            later = [item for item in items if sort_key(item) < cursor[1]]
            chosen, has_previous, has_next = later[:limit], True, len(later) > limit
        else:
            earlier = [item for item in items if sort_key(item) > cursor[1]]
            chosen, has_previous, has_next = earlier[-limit:], len(earlier) > limit, True
    except TypeError:  # a page_info of another list, or not ours
        raise ShopError(400, {"page_info": "Invalid value."}) from None
    links = []
    if chosen and has_previous:
        links.append(f'<{link_base}?{_link_query(filters, "prev", sort_key(chosen[0]), limit)}>; rel="previous"')
    if chosen and has_next:
        links.append(f'<{link_base}?{_link_query(filters, "next", sort_key(chosen[-1]), limit)}>; rel="next"')
    return 200, {key: chosen}, ({"Link": ", ".join(links)} if links else {})


def _link_query(filters: dict[str, str], direction: str, last: tuple, limit: int) -> str:
    raw = json.dumps({"filters": filters, "direction": direction, "last": list(last)}, separators=(",", ":"))
    token = base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")
    return urlencode({"limit": str(limit), "page_info": token})


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.isdigit() or int(text) < 1:
        raise ShopError(400, {"limit": "Invalid value."})
    return min(int(text), MAX_LIMIT)


def _id(text: str, name: str) -> int:
    if not text.isdigit():
        raise ShopError(400, {name: "Invalid value."})
    return int(text)


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ShopError(400, {name: "Invalid value; use a date like 2026-01-31."}) from None

"""The sandbox shop's orders: made up deterministically, shaped exactly like Shopify's REST Order resource.

One ``SandboxShop`` is one store. Its currency is the shop currency (USD by
default): every top-level amount and every ``shop_money`` is in it, while the
buyer pays in their ``presentment_currency`` (EUR, GBP, CNY, JPY, AUD or the
shop currency), as Shopify Markets does.

Everything random comes from one seeded ``random.Random`` whose state is
persisted, so a shop with the same seed and the same calls makes the same
orders, across restarts too. Time comes from an injectable clock.

This module is the shop itself; the parts live beside it: ``amounts`` (two
currencies, rounding), ``catalogue`` and ``regions`` (data), ``buyers``,
``checkout`` (one order), ``changes`` (cancel, refund, re-address, pay),
``fulfilment``, ``filters`` (queries) and ``state`` (the state file).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.sandbox import changes
from channels.sandbox.amounts import RATES
from channels.sandbox.buyers import customer_for_order
from channels.sandbox.catalogue import CATALOGUE, PRODUCTS_BY_SKU, Product
from channels.sandbox.checkout import build_order
from channels.sandbox.filters import DEFAULT_LIMIT, MAX_LIMIT, OrderFilter, OrderPage, aware_epoch
from channels.sandbox.fulfilment import (
    fulfillment_order_resource,
    fulfillment_request,
    record_fulfillment,
    tracking_info,
)
from channels.sandbox.shop import (
    LOCATION_ID,
    SHOP_IANA_TIMEZONE,
    SHOP_ID,
    SHOP_NAME,
    SHOP_TIMEZONE,
    ShopError,
    epoch,
    iso,
)
from channels.sandbox.state import ShopState, read_state, write_state

# What other modules import from here (the server, the demo seeding, the tests and the bench).
__all__ = [
    "CATALOGUE",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PRODUCTS_BY_SKU",
    "RATES",
    "SHOP_TIMEZONE",
    "OrderFilter",
    "OrderPage",
    "Product",
    "SandboxShop",
    "ShopError",
    "TickReport",
]

logger = logging.getLogger(__name__)

# Orders become candidates for a later change only after this long, so a buyer
# never cancels an order in the same tick that created it.
MUTATION_MIN_AGE = 60
# Changes are drawn among the most recent orders only, as in a real shop.
MUTATION_WINDOW = 500
# After a long stop, a restart does not make hours of orders at once.
MAX_CATCH_UP_SECONDS = 300.0


@dataclass(frozen=True)
class TickReport:
    """What one tick did, by order id."""

    created: tuple[int, ...] = ()
    cancelled: tuple[int, ...] = ()
    refunded: tuple[int, ...] = ()
    readdressed: tuple[int, ...] = ()
    paid: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return any((self.created, self.cancelled, self.refunded, self.readdressed, self.paid))


class SandboxShop:
    """A Shopify store's orders: made up, changed over time, queried and fulfilled like the real thing.

    Thread-safe: every public method holds the shop's lock. Dicts handed out
    are copies. With ``state_path`` set, the shop loads its state from that
    JSON file when it exists and writes it back (atomically) after every change.
    """

    def __init__(
        self,
        *,
        seed: int = 2026,
        rate_per_minute: float = 6.0,
        clock: Callable[[], float] = time.time,
        state_path: str | os.PathLike[str] | None = None,
        currency: str = "USD",
        cancel_rate: float = 0.03,
        refund_rate: float = 0.03,
        address_change_rate: float = 0.02,
        payment_rate: float = 0.06,
        line_count_weights: tuple[int, int, int, int, int] = (45, 25, 15, 10, 5),
    ):
        if rate_per_minute < 0:
            raise ValueError("rate_per_minute must not be negative")
        if currency not in RATES:
            raise ValueError(f"currency must be one of {sorted(RATES)}")
        self.rate_per_minute = rate_per_minute
        # Shares of new orders that bring a change to an older order with them (see tick()).
        self.cancel_rate = cancel_rate
        self.refund_rate = refund_rate
        self.address_change_rate = address_change_rate
        self.payment_rate = payment_rate
        # How often an order has 1, 2, 3, 4 or 5 lines (the default averages about 2).
        self.line_count_weights = line_count_weights
        self._clock = clock
        self._path = Path(state_path) if state_path is not None else None
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._state = ShopState(seed=seed, currency=currency, last_tick=clock())
        self._orders: dict[int, dict] = {}
        self._updated: dict[int, int] = {}  # order id -> updated_at as epoch seconds, for sorting and filters
        self._created: dict[int, int] = {}
        self._fulfillment_order_owner: dict[int, int] = {}  # fulfillment order id -> order id
        if self._path is not None and self._path.exists():
            self._load(seed=seed, currency=currency)

    # -------------------------------------------------------------- properties

    @property
    def currency(self) -> str:
        return self._state.currency

    @property
    def seed(self) -> int:
        return self._state.seed

    def __len__(self) -> int:
        with self._lock:
            return len(self._orders)

    def shop_resource(self, *, domain: str) -> dict:
        """The shop.json resource, with ``domain`` as the host the caller reached us on."""
        return {
            "id": SHOP_ID,
            "name": SHOP_NAME,
            "email": "owner@sandbox-shop.example.com",
            "domain": domain,
            "myshopify_domain": "relay-sandbox.myshopify.com",
            "shop_owner": "Relay Sandbox",
            "country": "CN",
            "country_code": "CN",
            "country_name": "China",
            "province": "Zhejiang",
            "province_code": "ZJ",
            "city": "Hangzhou",
            "address1": "西湖区文三路 90 号",
            "zip": "310012",
            "phone": "+8657188880000",
            "currency": self.currency,
            "enabled_presentment_currencies": sorted(RATES),
            "money_format": "${{amount}}" if self.currency == "USD" else "{{amount}}",
            "iana_timezone": SHOP_IANA_TIMEZONE,
            "timezone": "(GMT+08:00) Asia/Shanghai",
            "primary_locale": "en",
            "taxes_included": False,
            "tax_shipping": None,
            "plan_name": "partner_test",
            "plan_display_name": "Developer Preview",
            "has_storefront": True,
            "multi_location_enabled": False,
            "primary_location_id": LOCATION_ID,
            "created_at": "2024-03-01T09:00:00+08:00",
            "updated_at": "2024-03-01T09:00:00+08:00",
        }

    # -------------------------------------------------------------- making orders

    def generate(self, n: int, *, spread_seconds: float = 0.0) -> list[dict]:
        """Make ``n`` new orders and return copies of them.

        They are placed now, or spread over the ``spread_seconds`` before now
        (oldest first, so ids grow with time) to give a fresh shop a history.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            now = self._now()
            if spread_seconds > 0:
                moments = sorted(now - int(self._rng.uniform(0, spread_seconds)) for _ in range(n))
            else:
                moments = [now] * n
            made = [self._add_order(moment) for moment in moments]
            if made:
                self._save()
            return copy.deepcopy(made)

    def tick(self) -> TickReport:
        """Advance the shop to now: new orders at ``rate_per_minute`` and changes to some older ones.

        Each new order brings, with the configured shares, a change to an older
        one: a cancellation, a one-line refund, an address change before
        fulfilment, or a pending payment captured. Every change bumps updated_at.
        """
        with self._lock:
            now_float = self._clock()
            elapsed = min(max(0.0, now_float - self._state.last_tick), MAX_CATCH_UP_SECONDS)
            self._state.last_tick = now_float
            credit = self._state.order_credit + elapsed * self.rate_per_minute / 60.0
            due = math.floor(credit)
            self._state.order_credit = credit - due
            now = self._now()
            made: dict[str, list[int]] = {kind: [] for kind in self._shares()}
            for _ in range(due):
                self._maybe_change_one(now, made)
            created = [self._add_order(now)["id"] for _ in range(due)]
            report = TickReport(created=tuple(created), **{kind: tuple(ids) for kind, ids in made.items()})
            if report:
                self._save()
            return report

    def _shares(self) -> dict[str, float]:
        """Shares of new orders that bring each change to an older order with them, in the order they are drawn."""
        return {
            changes.CANCELLED: self.cancel_rate,
            changes.REFUNDED: self.refund_rate,
            changes.READDRESSED: self.address_change_rate,
            changes.PAID: self.payment_rate,
        }

    def _maybe_change_one(self, now: int, made: dict[str, list[int]]) -> None:
        roll = self._rng.random()
        for kind, share in self._shares().items():
            if roll < share:
                candidates = [order for order in self._recent_orders(now) if changes.can_take(kind, order)]
                if candidates:
                    order = self._rng.choice(candidates)
                    self._apply(kind, order, now)
                    made[kind].append(order["id"])
                return
            roll -= share

    def _recent_orders(self, now: int) -> list[dict]:
        recent = sorted(self._orders)[-MUTATION_WINDOW:]
        return [self._orders[i] for i in recent if now - self._created[i] >= MUTATION_MIN_AGE]

    # -------------------------------------------------------------- changing orders

    def cancel_order(self, order_id: int, *, reason: str = "customer") -> dict:
        """Cancel an unfulfilled order the way a merchant does for a buyer: refund what was paid, restock."""
        with self._lock:
            order = self._order_or_404(order_id)
            if order["cancelled_at"] is not None:
                raise ShopError(422, ["Order has already been cancelled."])
            if order["fulfillments"]:
                raise ShopError(422, ["Order has been fulfilled and cannot be cancelled."])
            self._apply(changes.CANCELLED, order, self._now(), reason=reason)
            self._save()
            return copy.deepcopy(order)

    def refund_line(self, order_id: int, *, line_item_id: int | None = None) -> dict:
        """Refund one whole line (the first one not yet refunded unless ``line_item_id`` says which)."""
        return self._change(order_id, changes.REFUNDED, "Order has nothing left to refund.", line_item_id=line_item_id)

    def change_shipping_address(self, order_id: int) -> dict:
        """The buyer moves their delivery to another street in the same city, before anything shipped."""
        return self._change(order_id, changes.READDRESSED, "The shipping address can only change before fulfillment.")

    def mark_paid(self, order_id: int) -> dict:
        """A pending payment (bank transfer, cash on delivery) arrives."""
        return self._change(order_id, changes.PAID, "Only a pending order can be marked as paid.")

    def _change(self, order_id: int, kind: str, refusal: str, **options: Any) -> dict:
        """Apply one change to an order if it can take it (else a 422 with ``refusal``), save, return a copy."""
        with self._lock:
            order = self._order_or_404(order_id)
            if not changes.can_take(kind, order):
                raise ShopError(422, [refusal])
            self._apply(kind, order, self._now(), **options)
            self._save()
            return copy.deepcopy(order)

    def _apply(self, kind: str, order: dict, now: int, **options: Any) -> None:
        """Make the change ``kind`` to ``order`` (see channels.sandbox.changes), then stamp its updated_at."""
        if kind == changes.CANCELLED:
            changes.cancel(order, now, new_id=self._new_id, **options)
        elif kind == changes.REFUNDED:
            changes.refund(order, now, rng=self._rng, new_id=self._new_id, **options)
        elif kind == changes.READDRESSED:
            changes.readdress(order, rng=self._rng)
        else:
            changes.capture(order)
        self._touch(order, now)

    def _touch(self, order: dict, now: int) -> None:
        # Strictly later than before, so a pull from the previous updated_at always sees the change.
        stamp = max(now, self._updated[order["id"]] + 1)
        self._updated[order["id"]] = stamp
        order["updated_at"] = iso(stamp)

    # -------------------------------------------------------------- reading

    def get_order(self, order_id: int) -> dict | None:
        with self._lock:
            order = self._orders.get(order_id)
            return copy.deepcopy(order) if order is not None else None

    def latest_orders(self, limit: int) -> list[dict]:
        """The ``limit`` most recently changed orders, newest first (the shop's own order list page)."""
        with self._lock:
            latest = sorted((updated, order_id) for order_id, updated in self._updated.items())[-limit:]
            return [copy.deepcopy(self._orders[order_id]) for _updated, order_id in reversed(latest)]

    def list_orders(
        self,
        *,
        status: str = "any",
        updated_at_min: dt.datetime | None = None,
        updated_at_max: dt.datetime | None = None,
        created_at_min: dt.datetime | None = None,
        created_at_max: dt.datetime | None = None,
        since_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        after: tuple[dt.datetime, int] | None = None,
        before: tuple[dt.datetime, int] | None = None,
    ) -> list[dict]:
        """Orders sorted by (updated_at, id) ascending, at most ``limit`` (capped at 250).

        ``after``/``before`` are (updated_at, id) cursors: only orders strictly after
        (before) them. Raises ValueError for a bad status or naive datetimes.
        """
        flt = OrderFilter(
            status=status,
            updated_at_min=updated_at_min,
            updated_at_max=updated_at_max,
            created_at_min=created_at_min,
            created_at_max=created_at_max,
            since_id=since_id,
        )
        return self.page_orders(flt, limit=limit, after=after, before=before).orders

    def count_orders(
        self,
        *,
        status: str = "any",
        updated_at_min: dt.datetime | None = None,
        updated_at_max: dt.datetime | None = None,
        created_at_min: dt.datetime | None = None,
        created_at_max: dt.datetime | None = None,
        since_id: int | None = None,
    ) -> int:
        flt = OrderFilter(
            status=status,
            updated_at_min=updated_at_min,
            updated_at_max=updated_at_max,
            created_at_min=created_at_min,
            created_at_max=created_at_max,
            since_id=since_id,
        )
        return self.count(flt)

    def count(self, flt: OrderFilter) -> int:
        with self._lock:
            return len(self._matching_keys(flt))

    def page_orders(
        self,
        flt: OrderFilter,
        *,
        limit: int = DEFAULT_LIMIT,
        after: tuple[dt.datetime, int] | None = None,
        before: tuple[dt.datetime, int] | None = None,
    ) -> OrderPage:
        """One page in (updated_at, id) order; see list_orders. ``has_next``/``has_previous`` are exact."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is not None and before is not None:
            raise ValueError("give after or before, not both")
        limit = min(limit, MAX_LIMIT)
        with self._lock:
            keys = self._matching_keys(flt)
            if before is not None:
                edge = (aware_epoch(before[0]), before[1])
                earlier = [key for key in keys if key < edge]
                chosen = earlier[-limit:]
                has_previous = len(earlier) > limit
                has_next = len(earlier) < len(keys)
            else:
                edge = (aware_epoch(after[0]), after[1]) if after is not None else None
                later = [key for key in keys if edge is None or key > edge]
                chosen = later[:limit]
                has_next = len(later) > limit
                has_previous = len(later) < len(keys)
            orders = [copy.deepcopy(self._orders[order_id]) for _updated, order_id in chosen]
            return OrderPage(orders=orders, has_next=has_next, has_previous=has_previous)

    def _matching_keys(self, flt: OrderFilter) -> list[tuple[int, int]]:
        return sorted(
            (self._updated[order_id], order_id)
            for order_id, order in self._orders.items()
            if flt.matches(order, updated=self._updated[order_id], created=self._created[order_id])
        )

    # -------------------------------------------------------------- fulfilment

    def fulfillment_orders(self, order_id: int) -> list[dict] | None:
        """The order's fulfillment orders (one, at the shop's single location); None for an unknown order."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            return [fulfillment_order_resource(order, known=self._state.fulfillment_orders[order_id])]

    def fulfillments(self, order_id: int) -> list[dict] | None:
        with self._lock:
            order = self._orders.get(order_id)
            return copy.deepcopy(order["fulfillments"]) if order is not None else None

    def create_fulfillment(self, body: Mapping[str, Any]) -> dict:
        """Fulfil fulfillment order line items as POST /fulfillments.json does; returns the fulfillment.

        ``body`` is the request JSON ({"fulfillment": {...}}). Lines of a
        fulfillment order listed without ``fulfillment_order_line_items`` are
        fulfilled in full. Raises ShopError 400 when the root key is missing and
        422 for anything that cannot be fulfilled; then nothing changes.
        """
        fulfillment = body.get("fulfillment") if isinstance(body, Mapping) else None
        if not isinstance(fulfillment, Mapping):
            raise ShopError(400, {"fulfillment": "Required parameter missing or invalid"})
        with self._lock:
            order, quantities = fulfillment_request(
                fulfillment,
                orders=self._orders,
                owners=self._fulfillment_order_owner,
                known=self._state.fulfillment_orders,
            )
            tracking = tracking_info(fulfillment.get("tracking_info"))
            notify = fulfillment.get("notify_customer", False)
            if not isinstance(notify, bool):
                raise ShopError(422, ["notify_customer must be true or false."])
            now = self._now()
            record = record_fulfillment(order, quantities, tracking, notify=notify, now=now, new_id=self._new_id)
            self._touch(order, now)
            self._save()
            return copy.deepcopy(record)

    # -------------------------------------------------------------- ids, time, new orders

    def _now(self) -> int:
        return int(self._clock())

    def _new_id(self) -> int:
        self._state.last_id += self._rng.randint(1, 4_999)
        return self._state.last_id

    def _order_or_404(self, order_id: int) -> dict:
        order = self._orders.get(order_id)
        if order is None:
            raise ShopError(404, "Not Found")
        return order

    def _add_order(self, created: int) -> dict:
        customer, returning = customer_for_order(
            rng=self._rng, pool=self._state.customers, new_id=self._new_id, currency=self.currency, created=created
        )
        number = self._state.next_order_number
        self._state.next_order_number += 1
        order = build_order(
            rng=self._rng,
            new_id=self._new_id,
            customer=customer,
            returning=returning,
            created=created,
            number=number,
            currency=self.currency,
            line_count_weights=self.line_count_weights,
        )
        order_id = order["id"]
        self._orders[order_id] = order
        self._created[order_id] = created
        self._updated[order_id] = created
        fo_id = self._new_id()
        self._state.fulfillment_orders[order_id] = {
            "id": fo_id,
            "created_at": order["created_at"],
            "line_ids": {str(line["id"]): self._new_id() for line in order["line_items"]},
        }
        self._fulfillment_order_owner[fo_id] = order_id
        return order

    # -------------------------------------------------------------- persistence

    def save(self) -> None:
        """Write the state file now (a no-op without ``state_path``)."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._path is not None:
            write_state(
                self._path, state=self._state, rng_state=self._rng.getstate(), orders=list(self._orders.values())
            )

    def _load(self, *, seed: int, currency: str) -> None:
        assert self._path is not None
        try:
            saved = read_state(self._path)
        except (OSError, ValueError, KeyError, TypeError) as error:
            # Keep the unreadable file for a person to look at and start afresh rather than refuse to run.
            aside = self._path.with_name(f"{self._path.name}.unreadable-{int(time.time())}")
            logger.warning("sandbox shop state %s is unreadable (%s); moved to %s", self._path, error, aside)
            self._path.replace(aside)
            return
        state = saved.state
        if state.seed != seed or state.currency != currency:
            logger.info(
                "sandbox shop state %s was made with seed %s in %s; continuing it",
                self._path,
                state.seed,
                state.currency,
            )
        self._rng.setstate(saved.rng_state)
        # The shop was closed while the server was down: no orders are owed for that time.
        state.last_tick = self._clock()
        self._state = state
        self._orders = saved.orders
        for order_id, order in saved.orders.items():
            self._created[order_id] = epoch(order["created_at"])
            self._updated[order_id] = epoch(order["updated_at"])
        self._fulfillment_order_owner = {known["id"]: order_id for order_id, known in state.fulfillment_orders.items()}

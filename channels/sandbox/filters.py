"""Which orders a Shopify orders.json or orders/count.json request asks for, and one page of the answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 50
MAX_LIMIT = 250  # Shopify's maximum page size

ORDER_STATUSES = frozenset({"open", "closed", "cancelled", "any"})
FINANCIAL_STATUS_FILTERS = frozenset(
    {"any", "authorized", "pending", "paid", "partially_paid", "refunded", "voided", "partially_refunded", "unpaid"}
)
FULFILLMENT_STATUS_FILTERS = frozenset({"any", "shipped", "partial", "unshipped", "unfulfilled"})


def aware_epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("filter times must be aware datetimes")
    return moment.timestamp()


@dataclass(frozen=True)
class OrderFilter:
    """The filters Shopify's orders.json and orders/count.json take (bounds are inclusive, as Shopify's)."""

    status: str = "any"
    updated_at_min: dt.datetime | None = None
    updated_at_max: dt.datetime | None = None
    created_at_min: dt.datetime | None = None
    created_at_max: dt.datetime | None = None
    since_id: int | None = None
    ids: tuple[int, ...] | None = None
    financial_status: str = "any"
    fulfillment_status: str = "any"

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"status must be one of {sorted(ORDER_STATUSES)}")
        if self.financial_status not in FINANCIAL_STATUS_FILTERS:
            raise ValueError(f"financial_status must be one of {sorted(FINANCIAL_STATUS_FILTERS)}")
        if self.fulfillment_status not in FULFILLMENT_STATUS_FILTERS:
            raise ValueError(f"fulfillment_status must be one of {sorted(FULFILLMENT_STATUS_FILTERS)}")
        for moment in (self.updated_at_min, self.updated_at_max, self.created_at_min, self.created_at_max):
            if moment is not None:
                aware_epoch(moment)

    def matches(self, order: Mapping[str, Any], *, updated: int, created: int) -> bool:
        bounds = (
            (self.updated_at_min, updated, 1),
            (self.updated_at_max, updated, -1),
            (self.created_at_min, created, 1),
            (self.created_at_max, created, -1),
        )
        for bound, value, sign in bounds:
            if bound is not None and (value - bound.timestamp()) * sign < 0:
                return False
        if self.since_id is not None and order["id"] <= self.since_id:
            return False
        if self.ids is not None and order["id"] not in self.ids:
            return False
        return self._status_matches(order) and self._money_matches(order) and self._shipping_matches(order)

    def _status_matches(self, order: Mapping[str, Any]) -> bool:
        if self.status == "open":
            return order["cancelled_at"] is None and order["closed_at"] is None
        if self.status == "closed":
            return order["closed_at"] is not None
        if self.status == "cancelled":
            return order["cancelled_at"] is not None
        return True

    def _money_matches(self, order: Mapping[str, Any]) -> bool:
        if self.financial_status == "any":
            return True
        if self.financial_status == "unpaid":
            return order["financial_status"] in ("pending", "authorized", "partially_paid")
        return order["financial_status"] == self.financial_status

    def _shipping_matches(self, order: Mapping[str, Any]) -> bool:
        status = order["fulfillment_status"]
        return {
            "any": True,
            "shipped": status == "fulfilled",
            "partial": status == "partial",
            "unshipped": status is None,
            "unfulfilled": status in (None, "partial"),
        }[self.fulfillment_status]


@dataclass(frozen=True)
class OrderPage:
    """One page of orders in (updated_at, id) order, and whether there are more on either side."""

    orders: list[dict]
    has_next: bool
    has_previous: bool

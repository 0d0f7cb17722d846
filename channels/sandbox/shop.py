"""Who the sandbox shop is: its ids, its time zone and the refusal it answers with, as Shopify would."""

from __future__ import annotations

import datetime as dt
from typing import Any

SHOP_NAME = "Relay Sandbox Shop"
SHOP_ID = 61_432_790_017
LOCATION_ID = 71_038_466_113
# A cross-border seller in Hangzhou: Shopify stamps every time in the shop's zone.
# A fixed offset (China has no daylight saving) keeps us free of the tz database.
SHOP_TIMEZONE = dt.timezone(dt.timedelta(hours=8), "CST")
SHOP_IANA_TIMEZONE = "Asia/Shanghai"


class ShopError(Exception):
    """A request the shop refuses; ``status`` and ``errors`` are what Shopify would answer with."""

    def __init__(self, status: int, errors: Any):
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


def iso(timestamp: int) -> str:
    """Epoch seconds as Shopify writes a time: ISO 8601 in the shop's zone."""
    return dt.datetime.fromtimestamp(timestamp, SHOP_TIMEZONE).isoformat()


def epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())

"""The sandbox shop's state file: what must survive a restart, written atomically as one JSON document."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STATE_FORMAT = "relay-sandbox-shop/1"
FIRST_ORDER_NUMBER = 1001
FIRST_ID = 5_820_114_000_000  # Shopify ids are 13-digit integers


@dataclass
class ShopState:
    """Everything that must survive a restart, apart from the orders themselves and the random generator."""

    seed: int
    currency: str
    last_id: int = FIRST_ID
    next_order_number: int = FIRST_ORDER_NUMBER
    last_tick: float = 0.0
    order_credit: float = 0.0  # fractions of an order owed by the rate, carried between ticks
    customers: list[dict] = field(default_factory=list)
    # order id -> {"id": fulfillment order id, "created_at": ..., "line_ids": {line item id: its FO line id}}
    fulfillment_orders: dict[int, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedShop:
    state: ShopState
    rng_state: tuple
    orders: dict[int, dict]


def write_state(path: Path, *, state: ShopState, rng_state: tuple, orders: list[dict]) -> None:
    """Write the state file; a crash mid-write leaves the previous file whole (write aside, then rename)."""
    document = {
        "format": STATE_FORMAT,
        "seed": state.seed,
        "currency": state.currency,
        "rng": rng_state,
        "last_id": state.last_id,
        "next_order_number": state.next_order_number,
        "last_tick": state.last_tick,
        "order_credit": state.order_credit,
        "customers": state.customers,
        "fulfillment_orders": {str(k): v for k, v in state.fulfillment_orders.items()},
        "orders": orders,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, ensure_ascii=False, separators=(",", ":"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_state(path: Path) -> SavedShop:
    """The shop saved in ``path``. Raises OSError, ValueError, KeyError or TypeError for an unreadable file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != STATE_FORMAT:
        raise ValueError(f"unknown format {document.get('format')!r}")
    version, internal, gauss = document["rng"]
    state = ShopState(
        seed=document["seed"],
        currency=document["currency"],
        last_id=document["last_id"],
        next_order_number=document["next_order_number"],
        last_tick=document["last_tick"],
        order_credit=document["order_credit"],
        customers=document["customers"],
        fulfillment_orders={int(k): v for k, v in document["fulfillment_orders"].items()},
    )
    orders = {order["id"]: order for order in document["orders"]}
    return SavedShop(state=state, rng_state=(version, tuple(internal), gauss), orders=orders)

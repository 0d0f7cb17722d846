"""Which orders may share a dispatch: one buyer, one address, one store (the merge rule's key)."""

from __future__ import annotations

import hashlib
import re

from orders.routing.core.types import OrderSnapshot

# Everything but letters and digits: \W keeps the underscore, which str.isalnum() does not.
_NOT_ALNUM = re.compile(r"[\W_]+")


def _normalised(text: str) -> str:
    return _NOT_ALNUM.sub("", text.casefold())


def merge_key(*, order: OrderSnapshot) -> str | None:
    """Who and where an order ships to, normalised, so orders to one buyer at one address in one store match.

    The buyer is the e-mail, or the name and phone when there is none. None
    when the buyer or the street is unknown: a guessed merge would ship one
    buyer's goods to another. Hashed to keep the key short and
    the address out of an index.
    """
    address = order.address
    buyer = _normalised(order.buyer_email) or (_normalised(address.name) + "/" + _normalised(address.phone))
    street = _normalised(address.line1)
    if buyer == "/" or not street:
        return None
    parts = (
        str(order.store_id),
        buyer,
        _normalised(address.country),
        _normalised(address.province),
        _normalised(address.city),
        _normalised(address.district),
        street,
        _normalised(address.postal_code),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()

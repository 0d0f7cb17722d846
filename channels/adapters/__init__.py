"""Channel adapters: one module per channel, all behind the ``Adapter`` interface in ``base``."""

from __future__ import annotations

from typing import Any

from channels.adapters.base import Adapter
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter

# The local sandbox shop speaks Shopify's Admin REST dialect.
ADAPTERS: dict[str, type[Adapter]] = {
    "shopify": ShopifyAdapter,
    "sandbox": ShopifyAdapter,
    "woocommerce": WooCommerceAdapter,
}


def get_adapter(channel_type: str, **kwargs: Any) -> Adapter:
    """The adapter for a channel type, built with ``kwargs`` (base_url, credentials, client, sleep, max_attempts).

    Raises ValueError for a channel without an API adapter (e.g. spreadsheet stores).
    """
    try:
        adapter_class = ADAPTERS[channel_type]
    except KeyError:
        raise ValueError(f"No API adapter for channel {channel_type!r}.") from None
    return adapter_class(**kwargs)


__all__ = ["ADAPTERS", "Adapter", "ShopifyAdapter", "WooCommerceAdapter", "get_adapter"]

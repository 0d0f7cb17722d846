"""Helpers for the channels tests: recorded payloads, webhook signatures, adapters that never sleep."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

from django.test import Client

FIXTURES = Path(__file__).parent / "fixtures"
FAST = {"sleep": lambda seconds: None}  # adapter options: retry at once instead of waiting
WEBHOOK_SECRET = "whsec-test-0123456789"  # the webhook secret of the shopify_store fixture


def fixture(path: str):
    """A recorded payload, by its path under tests/channels/fixtures (e.g. "shopify/order.json")."""
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The base64 HMAC-SHA256 signature Shopify and WooCommerce put on a webhook body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver_shopify(
    client: Client,
    store,
    payload: dict,
    *,
    event_id: str = "evt-1",
    secret: str = WEBHOOK_SECRET,
    topic: str = "orders/updated",
    signature: str | None = None,
):
    """POST a Shopify webhook of the order to the store's URL, signed with ``secret`` unless ``signature`` is given."""
    body = json.dumps(payload).encode()
    return client.post(
        f"/webhooks/{store.webhook_token}/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature if signature is not None else sign(body, secret),
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_EVENT_ID=event_id,
        HTTP_X_SHOPIFY_WEBHOOK_ID=event_id,
        HTTP_X_SHOPIFY_TRIGGERED_AT=payload["updated_at"],
        HTTP_X_SHOPIFY_SHOP_DOMAIN="fake-shop.myshopify.com",
    )

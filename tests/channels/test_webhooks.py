"""Shopify webhooks: signed, de-duplicated, never older than what we hold; a fast path beside the pull."""

import datetime as dt

from channels.models import WebhookDelivery
from orders.models import Order
from tests.channels.conftest import T0
from tests.channels.fake_shopify import shopify_order
from tests.channels.helpers import deliver_shopify as deliver
from tests.channels.helpers import sign


def test_signed_webhook_creates_the_order(shopify_store, client_for, tenant_a):
    response = deliver(client_for(tenant_a), shopify_store, shopify_order(3001, updated_at=T0), topic="orders/create")

    assert response.status_code == 200
    assert response.json() == {"outcome": "created"}
    assert Order.objects.filter(store=shopify_store, external_id="3001").exists()


def test_bad_signature_is_refused_and_changes_nothing(shopify_store, client_for, tenant_a):
    client = client_for(tenant_a)
    wrong_secret = deliver(client, shopify_store, shopify_order(3002, updated_at=T0), secret="not-the-secret")
    no_signature = deliver(client, shopify_store, shopify_order(3002, updated_at=T0), signature="")

    assert wrong_secret.status_code == 401
    assert no_signature.status_code == 401
    assert not Order.objects.filter(external_id="3002").exists()
    assert not WebhookDelivery.objects.exists()


def test_duplicate_delivery_is_ignored(shopify_store, client_for, tenant_a):
    client = client_for(tenant_a)
    deliver(client, shopify_store, shopify_order(3003, updated_at=T0), event_id="evt-9")
    # the same event again, even with a changed body, changes nothing
    again = deliver(
        client,
        shopify_store,
        shopify_order(3003, updated_at=T0 + dt.timedelta(hours=1), cancelled=True),
        event_id="evt-9",
    )

    assert again.json() == {"outcome": "duplicate"}
    assert Order.objects.get(external_id="3003").cancelled_at is None


def test_delivery_older_than_the_order_changes_nothing(shopify_store, client_for, tenant_a):
    client = client_for(tenant_a)
    deliver(
        client,
        shopify_store,
        shopify_order(3004, updated_at=T0 + dt.timedelta(hours=1), cancelled=True),
        event_id="evt-new",
    )

    late = deliver(client, shopify_store, shopify_order(3004, updated_at=T0), event_id="evt-old")

    assert late.json() == {"outcome": "unchanged"}
    assert Order.objects.get(external_id="3004").cancelled_at is not None


def test_webhook_token_of_tenant_a_means_nothing_on_tenant_b(shopify_store, client_for, tenant_b):
    response = deliver(client_for(tenant_b), shopify_store, shopify_order(3005, updated_at=T0))
    assert response.status_code == 404


def test_unreadable_body_is_a_400(shopify_store, client_for, tenant_a):
    body = b"not json"
    response = client_for(tenant_a).post(
        f"/webhooks/{shopify_store.webhook_token}/", data=body, content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=sign(body), HTTP_X_SHOPIFY_TOPIC="orders/create", HTTP_X_SHOPIFY_EVENT_ID="evt-x",
    )  # fmt: skip
    assert response.status_code == 400

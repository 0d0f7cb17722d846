"""Webhook abuse: tokens that are no webhook store, oversize and lying bodies, bad signatures, wrong methods.

Every refusal is JSON with a ``detail``, changes nothing, and is logged with the store, the reason, the status
and the declared length, never the body.
"""

from __future__ import annotations

import json
import logging

import pytest

from channels import views as channel_views
from channels.models import WebhookDelivery
from channels.services import store_create
from orders.models import Order
from tests.channels.conftest import T0
from tests.channels.factories import StoreFactory
from tests.channels.fake_shopify import BASE, TOKEN, shopify_order
from tests.channels.helpers import WEBHOOK_SECRET, deliver_shopify, sign

SECRET_MARK = "BODY-MUST-NOT-BE-LOGGED"


@pytest.fixture
def shopify_store(in_a):
    return store_create(
        name="Webhook Shopify", channel="shopify", base_url=BASE,
        credentials={"access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
    )  # fmt: skip


def _rejections(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "channels.views" and r.getMessage() == "webhook rejected"]


def _post(client, token: str, body: bytes, **headers):
    return client.post(f"/webhooks/{token}/", data=body, content_type="application/json", **headers)


def test_a_spreadsheet_stores_token_is_a_json_404_and_is_logged(in_a, client_for, caplog):
    store = StoreFactory(channel="spreadsheet")
    body = json.dumps({"note": SECRET_MARK}).encode()

    with caplog.at_level(logging.WARNING, logger="channels.views"):
        response = _post(client_for(in_a), store.webhook_token, body, HTTP_X_SHOPIFY_HMAC_SHA256=sign(body))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert not WebhookDelivery.objects.exists()
    [record] = _rejections(caplog)
    assert record.status == 404
    assert SECRET_MARK not in caplog.text


def test_an_unknown_token_is_a_json_404(in_a, client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="channels.views"):
        response = _post(client_for(in_a), "no-such-token", b"{}")

    assert response.status_code == 404
    assert "detail" in response.json()
    [record] = _rejections(caplog)
    assert record.store is None
    assert record.reason


def test_a_body_over_the_limit_is_a_json_413_before_it_is_read(shopify_store, client_for, tenant_a, caplog):
    payload = shopify_order(4001, updated_at=T0)
    payload["note"] = SECRET_MARK + "x" * (channel_views.WEBHOOK_MAX_BYTES + 10)
    body = json.dumps(payload).encode()

    with caplog.at_level(logging.WARNING, logger="channels.views"):
        response = _post(client_for(tenant_a), shopify_store.webhook_token, body, HTTP_X_SHOPIFY_HMAC_SHA256=sign(body))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert not Order.objects.filter(external_id="4001").exists()
    assert not WebhookDelivery.objects.exists()
    [record] = _rejections(caplog)
    assert (record.store, record.status, record.content_length) == (shopify_store.pk, 413, len(body))
    assert SECRET_MARK not in caplog.text


def test_a_10_mb_signed_body_is_a_413_not_djangos_html_400(shopify_store, client_for, tenant_a):
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"

    response = _post(client_for(tenant_a), shopify_store.webhook_token, body, HTTP_X_SHOPIFY_HMAC_SHA256=sign(body))

    assert response.status_code == 413
    assert response.json()["detail"]


def test_a_body_longer_than_its_declared_length_is_cut_at_that_length(shopify_store, client_for, tenant_a):
    # A lying Content-Length cannot make the view read more than it declared (the stream stops there):
    # the signature is then checked over the declared bytes only, and fails.
    body = json.dumps(shopify_order(4002, updated_at=T0)).encode()

    response = client_for(tenant_a).generic(
        "POST", f"/webhooks/{shopify_store.webhook_token}/", body, content_type="application/json",
        CONTENT_LENGTH="10", HTTP_X_SHOPIFY_HMAC_SHA256=sign(body),
    )  # fmt: skip

    assert response.status_code == 401
    assert not Order.objects.filter(external_id="4002").exists()


def test_an_unreadable_content_length_is_a_400(shopify_store, client_for, tenant_a):
    response = client_for(tenant_a).generic(
        "POST", f"/webhooks/{shopify_store.webhook_token}/", b"{}", content_type="application/json",
        CONTENT_LENGTH="lots",
    )  # fmt: skip

    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_bad_signature_is_a_401_logged_with_the_store_and_never_the_body(shopify_store, client_for, tenant_a, caplog):
    payload = shopify_order(4003, updated_at=T0)
    payload["note"] = SECRET_MARK

    with caplog.at_level(logging.WARNING, logger="channels.views"):
        response = deliver_shopify(client_for(tenant_a), shopify_store, payload, secret="not-the-secret")

    assert response.status_code == 401
    assert "detail" in response.json()
    assert not Order.objects.filter(external_id="4003").exists()
    [record] = _rejections(caplog)
    assert (record.store, record.status) == (shopify_store.pk, 401)
    assert record.content_length > 0
    assert SECRET_MARK not in caplog.text


def test_an_unreadable_signed_body_is_a_400_logged_without_the_body(shopify_store, client_for, tenant_a, caplog):
    body = f"not json {SECRET_MARK}".encode()

    with caplog.at_level(logging.WARNING, logger="channels.views"):
        response = _post(
            client_for(tenant_a), shopify_store.webhook_token, body,
            HTTP_X_SHOPIFY_HMAC_SHA256=sign(body), HTTP_X_SHOPIFY_TOPIC="orders/create", HTTP_X_SHOPIFY_EVENT_ID="e",
        )  # fmt: skip

    assert response.status_code == 400
    [record] = _rejections(caplog)
    assert record.status == 400
    assert SECRET_MARK not in caplog.text


def test_get_is_a_json_405(shopify_store, client_for, tenant_a):
    response = client_for(tenant_a).get(f"/webhooks/{shopify_store.webhook_token}/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "detail" in response.json()


def test_a_good_delivery_still_creates_the_order(shopify_store, client_for, tenant_a):
    response = deliver_shopify(client_for(tenant_a), shopify_store, shopify_order(4004, updated_at=T0))

    assert response.json() == {"outcome": "created"}
    assert Order.objects.filter(store=shopify_store, external_id="4004").exists()


def test_another_tenants_webhook_token_is_a_404_here(shopify_store, client_for, tenant_b):
    response = deliver_shopify(client_for(tenant_b), shopify_store, shopify_order(4005, updated_at=T0))

    assert response.status_code == 404

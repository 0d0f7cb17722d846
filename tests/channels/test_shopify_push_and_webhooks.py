"""The Shopify adapter pushes fulfillments, verifies and reads webhooks; the adapter registry.

No database: Shopify's answers are scripted per test (tests/channels/scripted_shopify.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import httpx
import pytest

from channels.adapters import ADAPTERS, get_adapter
from channels.adapters.base import ChannelError, NothingToFulfil, WebhookDelivery
from channels.adapters.shopify import API_VERSION, ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from tests.channels.helpers import fixture, sign
from tests.channels.scripted_shopify import (
    SECRET,
    UTC,
    ScriptedShopify,
    adapter,
    doc_order,
    ok,
)

# ------------------------------------------------------------------ fulfillment


def test_push_fulfillment_fulfils_our_lines_through_their_open_fulfillment_order():
    # given the documented fulfillment orders: red is open at one location, green already closed
    shop = ScriptedShopify(ok(fixture("shopify/fulfillment_orders.json")), ok(fixture("shopify/fulfillment.json")))

    fulfillment_id = adapter(shop).push_fulfillment(
        order_external_id="450789469", lines=[("518995019", 1)], carrier="UPS",
        tracking_number="1Z001985YW99744790", tracking_url="https://www.ups.com/track?tracknum=1Z001985YW99744790",
    )  # fmt: skip

    assert fulfillment_id == "1069019908"
    get, post = shop.requests
    assert (get.method, get.url.path) == ("GET", f"/admin/api/{API_VERSION}/orders/450789469/fulfillment_orders.json")
    assert (post.method, post.url.path) == ("POST", f"/admin/api/{API_VERSION}/fulfillments.json")
    assert json.loads(post.content) == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": 1046000778, "fulfillment_order_line_items": [{"id": 1058737482, "quantity": 1}]}
            ],
            "tracking_info": {
                "company": "UPS", "number": "1Z001985YW99744790",
                "url": "https://www.ups.com/track?tracknum=1Z001985YW99744790",
            },
            "notify_customer": True,
        }
    }  # fmt: skip


def test_push_fulfillment_retried_after_a_lost_answer_returns_the_existing_fulfillment():
    # given the first push went through: nothing is left open, the fulfillment carries our tracking
    fulfillment_orders = fixture("shopify/fulfillment_orders.json")
    fulfillment_orders["fulfillment_orders"][0]["status"] = "closed"
    shop = ScriptedShopify(
        ok(fulfillment_orders),
        ok({"fulfillments": [{"id": 1069019908, "status": "success", "tracking_number": "1Z001985YW99744790",
                              "tracking_numbers": ["1Z001985YW99744790"]}]}),
    )  # fmt: skip

    fulfillment_id = adapter(shop).push_fulfillment(
        order_external_id="450789469", lines=[("518995019", 1)], carrier="UPS", tracking_number="1Z001985YW99744790"
    )

    assert fulfillment_id == "1069019908"
    assert [r.method for r in shop.requests] == ["GET", "GET"]  # nothing posted twice


def test_push_fulfillment_of_a_line_shopify_has_nothing_left_of_is_refused():
    shop = ScriptedShopify(ok(fixture("shopify/fulfillment_orders.json")), ok({"fulfillments": []}))

    with pytest.raises(ChannelError, match=r"nothing left to fulfil for line\(s\) 466157049 \(1 of 1\)"):
        adapter(shop).push_fulfillment(
            order_external_id="450789469", lines=[("466157049", 1)], carrier="UPS", tracking_number="1Z2345"
        )

    assert [r.method for r in shop.requests] == ["GET", "GET"]


def _unprocessable(message: str) -> httpx.Response:
    return httpx.Response(422, json={"errors": [message]}, headers={"X-Shopify-Shop-Api-Call-Limit": "2/40"})


def test_a_422_on_the_fulfillment_with_our_tracking_already_there_counts_as_done():
    # given the fulfillment order closed between our read and our post: our earlier push got through
    shop = ScriptedShopify(
        ok(fixture("shopify/fulfillment_orders.json")),
        _unprocessable("Fulfillment order 1046000778 has an unfulfillable status= closed."),
        ok({"fulfillments": [{"id": 1069019908, "status": "success", "tracking_number": "1Z001985YW99744790"}]}),
    )

    fulfillment_id = adapter(shop).push_fulfillment(
        order_external_id="450789469", lines=[("518995019", 1)], carrier="UPS", tracking_number="1Z001985YW99744790"
    )

    assert fulfillment_id == "1069019908"
    assert [r.method for r in shop.requests] == ["GET", "POST", "GET"]


def test_a_422_on_the_fulfillment_without_our_tracking_is_nothing_to_fulfil_in_shopifys_words():
    shop = ScriptedShopify(
        ok(fixture("shopify/fulfillment_orders.json")),
        _unprocessable("Invalid fulfillment order line item quantity requested."),
        ok({"fulfillments": []}),
    )

    with pytest.raises(NothingToFulfil, match="Invalid fulfillment order line item quantity requested") as raised:
        adapter(shop).push_fulfillment(
            order_external_id="450789469", lines=[("518995019", 1)], carrier="UPS", tracking_number="1Z2345"
        )

    assert raised.value.status == 422
    assert [r.method for r in shop.requests] == ["GET", "POST", "GET"]  # one post, no retry


# ------------------------------------------------------------------ webhooks


def test_webhook_with_the_right_signature_is_verified_whatever_the_header_case():
    body = json.dumps(doc_order()).encode()

    assert adapter(ScriptedShopify(ok({}))).verify_webhook(
        headers={"X-Shopify-Hmac-Sha256": sign(body, SECRET)}, body=body
    )
    assert adapter(ScriptedShopify(ok({}))).verify_webhook(
        headers={"x-shopify-hmac-sha256": sign(body, SECRET)}, body=body
    )


@pytest.mark.parametrize(
    ("headers", "credentials"),
    [
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 1}', "another-secret")}, {}),  # signed with another secret
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 2}', SECRET)}, {}),  # signature of another body
        ({}, {}),  # header missing
        ({"X-Shopify-Hmac-Sha256": ""}, {}),
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 1}', "")}, {"webhook_secret": ""}),  # no secret configured
    ],
)
def test_webhook_with_a_wrong_or_missing_signature_is_refused(headers, credentials):
    assert not adapter(ScriptedShopify(ok({})), **credentials).verify_webhook(headers=headers, body=b'{"id": 1}')


def test_parse_webhook_reads_delivery_topic_time_and_order():
    body = json.dumps(doc_order()).encode()
    headers = {
        "x-shopify-topic": "orders/updated",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
    }

    delivery = adapter(ScriptedShopify(ok({}))).parse_webhook(headers=headers, body=body)

    assert delivery == WebhookDelivery(
        delivery_id="98880550-7158-44d4-b7cd-2c97c8a091b5",
        topic="orders/updated",
        triggered_at=dt.datetime(2023, 3, 29, 18, 0, 27, 877041, tzinfo=UTC),
        payload=doc_order(),
    )


def test_parse_webhook_falls_back_to_the_webhook_id_then_to_the_body():
    shop = adapter(ScriptedShopify(ok({})))

    by_webhook_id = shop.parse_webhook(
        headers={"X-Shopify-Webhook-Id": "wh-1", "X-Shopify-Topic": "orders/create"}, body=b'{"id": 1}'
    )
    by_body = shop.parse_webhook(headers={"X-Shopify-Triggered-At": "not a time"}, body=b'{"id": 1}')

    assert by_webhook_id.delivery_id == "wh-1"
    assert by_body.delivery_id == "sha256:" + hashlib.sha256(b'{"id": 1}').hexdigest()
    assert (by_body.topic, by_body.triggered_at) == ("", None)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_parse_webhook_refuses_a_body_that_is_not_a_json_object(body):
    with pytest.raises(ValueError):
        adapter(ScriptedShopify(ok({}))).parse_webhook(headers={"X-Shopify-Topic": "orders/create"}, body=body)


# ------------------------------------------------------------------ the registry


def test_adapters_are_found_by_channel_type_and_sandbox_speaks_shopify():
    built = get_adapter("sandbox", base_url="http://127.0.0.1:8765", credentials={"access_token": "sandbox-token"})

    assert isinstance(built, ShopifyAdapter)
    assert built.base_url == "http://127.0.0.1:8765"
    assert ADAPTERS == {"shopify": ShopifyAdapter, "sandbox": ShopifyAdapter, "woocommerce": WooCommerceAdapter}
    with pytest.raises(ValueError, match="spreadsheet"):
        get_adapter("spreadsheet", base_url="", credentials={})

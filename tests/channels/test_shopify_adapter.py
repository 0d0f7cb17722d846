"""The Shopify adapter against Shopify's documented payloads, served by httpx.MockTransport.

No database, no Django settings: the adapter is pure Python around httpx.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from channels.adapters import ADAPTERS, get_adapter
from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable, WebhookDelivery
from channels.adapters.shopify import API_VERSION, ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from orders.canonical import Address, ChannelOrderLine, NormalisationError

FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
BASE = "https://jsmith.myshopify.com"
API = f"{BASE}/admin/api/{API_VERSION}"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
SECRET = "whsec_shopify_0123456789"
UTC = dt.UTC


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def doc_order() -> dict:
    return fixture("order.json")["order"]


class FakeShopify:
    """Serves queued answers (responses, exceptions, or callables of the request) and records requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def adapter(shop: FakeShopify, *, waits: list | None = None, max_attempts: int = 5, **credentials) -> ShopifyAdapter:
    return ShopifyAdapter(
        base_url=BASE + "/",
        credentials={"access_token": TOKEN, "webhook_secret": SECRET, **credentials},
        client=shop.client(),
        sleep=(waits.append if waits is not None else lambda seconds: None),
        max_attempts=max_attempts,
    )


def ok(body, **headers) -> httpx.Response:
    return httpx.Response(200, json=body, headers={"X-Shopify-Shop-Api-Call-Limit": "1/40", **headers})


def query(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(str(request.url)).query).items()}


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# ------------------------------------------------------------------ normalise


def test_the_documented_order_normalises_to_exact_amounts_times_address_and_lines():
    # given Shopify's documented order #1001 (a 10.00 code spread over three lines)
    payload = doc_order()

    # when
    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    # then
    assert (order.external_id, order.order_number, order.currency) == ("450789469", "#1001", "USD")
    assert order.placed_at == dt.datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.updated_at == dt.datetime(2023, 2, 14, 11, 17, 48, tzinfo=UTC)
    assert order.lines == (
        ChannelOrderLine(
            "466157049", "IPOD2008GREEN", "IPod Nano - 8gb - green", 1, Decimal("199.00"), Decimal("3.34")
        ),
        ChannelOrderLine("518995019", "IPOD2008RED", "IPod Nano - 8gb - red", 1, Decimal("199.00"), Decimal("3.33")),
        ChannelOrderLine(
            "703073504", "IPOD2008BLACK", "IPod Nano - 8gb - black", 1, Decimal("199.00"), Decimal("3.33")
        ),
    )
    assert (order.subtotal, order.discount_total, order.shipping_total, order.tax_total, order.total) == (
        Decimal("597.00"), Decimal("10.00"), Decimal("0.00"), Decimal("11.94"), Decimal("598.94"),
    )  # fmt: skip
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.total
    assert (order.buyer_name, order.buyer_email, order.buyer_phone) == (
        "Bob Norman", "bob.norman@mail.example.com", "+557734881234",
    )  # fmt: skip
    assert order.shipping_address == Address(
        name="Bob Norman", country="US", province="Kentucky", city="Louisville", district="",
        line1="Chestnut Street 92", line2="", postal_code="40202", phone="+1(502)-459-2181",
    )  # fmt: skip
    assert (order.financial_status, order.fulfillment_status, order.cancelled_at) == ("partially_refunded", "", None)
    assert (order.note, order.tags) == ("", ())


def test_the_listed_page_holds_the_same_documented_order():
    page = fixture("orders_page.json")["orders"]

    orders = [ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload) for payload in page]

    assert [o.external_id for o in orders] == ["450789469"]
    assert orders[0].total == Decimal("598.94")


def test_multi_currency_order_uses_shop_money_and_keeps_free_shipping_out_of_the_goods_discount():
    # given a EUR shop selling in USD, with 10 % off the goods and a free-shipping code
    payload = fixture("order_multicurrency.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.currency == "EUR"
    assert [(line.unit_price, line.line_discount) for line in order.lines] == [
        (Decimal("20.00"), Decimal("4.00")),
        (Decimal("15.50"), Decimal("1.55")),
    ]
    assert (order.subtotal, order.discount_total, order.shipping_total) == (
        Decimal("55.50"), Decimal("5.55"), Decimal("0.00"),
    )  # fmt: skip
    # taxes are included in the prices: the parts add up without adding tax again
    assert (order.tax_total, order.total) == (Decimal("7.98"), Decimal("49.95"))
    assert order.subtotal - order.discount_total + order.shipping_total == order.total
    assert order.tags == ("wholesale", "repeat buyer")
    assert order.fulfillment_status == "partial"
    assert order.shipping_address.province == ""
    assert order.placed_at == dt.datetime(2026, 10, 30, 22, 15, 4, tzinfo=UTC)


def test_cancelled_zero_decimal_order_keeps_its_cancellation_and_sums_shipping_lines():
    # given a cancelled JPY order without total_shipping_price_set
    payload = fixture("order_cancelled.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.cancelled_at == dt.datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    assert order.financial_status == "voided"
    assert (order.subtotal, order.shipping_total, order.total) == (Decimal("4500"), Decimal("500"), Decimal("5000"))
    assert order.lines[0].quantity == 3
    assert order.buyer_name == "Haruka Sato"


def test_chinese_address_and_lines_without_sku_get_stable_listing_keys():
    payload = fixture("order_china.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.shipping_address == Address(
        name="王小明", country="CN", province="广东省", city="深圳市", district="",
        line1="深南大道10000号", line2="腾讯大厦12楼", postal_code="518057", phone="+86 138 0013 8000",
    )  # fmt: skip
    assert [(line.listing_sku, line.title) for line in order.lines] == [
        ("variant:44000000004", "真丝围巾 - 红色"),
        ("title:刻字服务", "刻字服务"),
    ]
    assert order.lines[0].line_discount == Decimal("30.00")  # from total_discount, no allocations
    assert (order.buyer_name, order.buyer_email, order.buyer_phone) == (
        "王小明",
        "xiaoming@example.cn",
        "+8613800138000",
    )
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        Decimal("287.00"), Decimal("30.00"), Decimal("20.00"), Decimal("277.00"),
    )  # fmt: skip
    assert order.tags == ("VIP", "双十一")
    assert order.note == "请工作日送货"


def test_malformed_fixture_is_refused_naming_the_line_and_the_quantity():
    payload = fixture("order_malformed.json")["order"]

    with pytest.raises(NormalisationError) as refused:
        ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert str(refused.value) == "line 13000000004: quantity is not a whole number: 'two'"


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda o: o.pop("id"), "order id is missing"),
        (lambda o: o.update(currency=None), "currency is missing"),
        (lambda o: o.update(currency="éur"), "currency is missing or not a code ('ÉUR')"),
        (lambda o: o.pop("line_items"), "line_items is missing"),
        (lambda o: o.update(line_items=[]), "has no line items"),
        (lambda o: o["line_items"][1].update(price="abc"), "line 518995019: price is not an amount: 'abc'"),
        (lambda o: o["line_items"][0].update(price="-1.00"), "price is negative"),
        (lambda o: o["line_items"][0].update(quantity=0), "quantity must be at least 1"),
        (lambda o: o["line_items"][0].update(quantity=1.5), "quantity is not a whole number"),
        (lambda o: o["line_items"][0].pop("id"), "line item 1: id is missing"),
        (lambda o: o.update(total_price="NaN"), "total_price is not an amount"),
        (lambda o: o.pop("total_price"), "total_price is missing"),
        (lambda o: o.update(created_at="yesterday"), "created_at is not a date and time"),
        (lambda o: o.update(updated_at="2023-02-14T06:17:48"), "updated_at has no time zone"),
        (lambda o: o["line_items"][0]["discount_allocations"][0].update(amount="250.00"), "is more than its amount"),
    ],
)
def test_unusable_payloads_are_refused_with_a_plain_reason(break_it, reason):
    payload = doc_order()
    break_it(payload)

    with pytest.raises(NormalisationError) as refused:
        ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert reason in str(refused.value)


def test_a_total_that_does_not_add_up_is_still_what_the_channel_says():
    payload = doc_order()
    payload["total_price"] = "600.00"  # e.g. a tip or duties we do not model

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.total == Decimal("600.00")


# ------------------------------------------------------------------ pulling


def test_pages_follow_the_link_header_and_drop_filters_after_the_first_page():
    # given three pages chained by Link headers
    page1, page2 = f"{API}/orders.json?limit=250&page_info=p2", f"{API}/orders.json?limit=250&page_info=p3"
    shop = FakeShopify(
        ok({"orders": [{"id": 1}, {"id": 2}]}, Link=f'<{page1}>; rel="next"'),
        ok(
            {"orders": [{"id": 3}, {"id": 4}]},
            Link=f'<{API}/orders.json?page_info=p1>; rel="previous", <{page2}>; rel="next"',
        ),
        ok({"orders": [{"id": 5}]}, Link=f'<{page1}>; rel="previous"'),
    )
    since, until = (
        dt.datetime(2026, 11, 1, 8, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )

    # when
    pages = list(adapter(shop).iter_order_pages(updated_since=since, updated_until=until))

    # then
    assert [[o["id"] for o in page] for page in pages] == [[1, 2], [3, 4], [5]]
    first = shop.requests[0]
    assert first.url.path == f"/admin/api/{API_VERSION}/orders.json"
    assert query(first) == {
        "status": "any", "limit": "250", "order": "updated_at asc",
        "updated_at_min": "2026-11-01T08:00:00+00:00", "updated_at_max": "2026-11-01T10:30:00+00:00",
    }  # fmt: skip
    assert [str(r.url) for r in shop.requests[1:]] == [page1, page2]
    assert all(r.headers["X-Shopify-Access-Token"] == TOKEN for r in shop.requests)


def test_an_empty_window_yields_no_pages():
    shop = FakeShopify(ok({"orders": []}))

    assert list(adapter(shop).iter_order_pages(updated_since=None)) == []
    assert query(shop.requests[0]) == {"status": "any", "limit": "250", "order": "updated_at asc"}


def test_a_next_link_to_another_host_is_not_followed_with_the_token():
    shop = FakeShopify(ok({"orders": [{"id": 1}]}, Link='<https://evil.example/orders.json?page_info=x>; rel="next"'))
    pages = adapter(shop).iter_order_pages(updated_since=None)

    assert next(pages) == [{"id": 1}]
    with pytest.raises(ChannelError, match="another host"):
        next(pages)
    assert len(shop.requests) == 1


def test_a_nearly_full_call_bucket_pauses_before_the_next_call():
    # given the first page leaves the leaky bucket at 39 of 40
    shop = FakeShopify(
        ok(
            {"orders": [{"id": 1}]},
            Link=f'<{API}/orders.json?page_info=p2>; rel="next"',
            **{"X-Shopify-Shop-Api-Call-Limit": "39/40"},
        ),
        ok({"orders": [{"id": 2}]}),
    )
    waits: list[float] = []

    list(adapter(shop, waits=waits).iter_order_pages(updated_since=None))

    # then it waits for (39 - 32 + 1) calls to drain at 2 a second, once
    assert waits == [4.0]


def test_count_orders_asks_for_the_same_window():
    shop = FakeShopify(ok({"count": 17}))

    count = adapter(shop).count_orders(
        updated_since=dt.datetime(2026, 11, 1, tzinfo=UTC), updated_until=dt.datetime(2026, 11, 2, tzinfo=UTC)
    )

    assert count == 17
    assert shop.requests[0].url.path == f"/admin/api/{API_VERSION}/orders/count.json"
    assert query(shop.requests[0]) == {
        "status": "any", "updated_at_min": "2026-11-01T00:00:00+00:00", "updated_at_max": "2026-11-02T00:00:00+00:00",
    }  # fmt: skip


def test_test_connection_names_the_shop():
    shop = FakeShopify(ok(fixture("shop.json")))

    assert adapter(shop).test_connection() == "John Smith Test Store"
    assert shop.requests[0].url.path == f"/admin/api/{API_VERSION}/shop.json"


# ------------------------------------------------------------------ faults and retries


def test_every_request_carries_explicit_timeouts():
    shop = FakeShopify(ok({"count": 0}))

    adapter(shop).count_orders(updated_since=None, updated_until=None)

    assert shop.requests[0].extensions["timeout"] == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_429_waits_the_retry_after_then_succeeds():
    shop = FakeShopify(
        httpx.Response(429, headers={"Retry-After": "2.0"}, json={"errors": "Exceeded 2 calls per second"}),
        ok({"count": 3}),
    )
    waits: list[float] = []

    count = adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None)

    assert count == 3
    assert waits == [2.0]
    assert len(shop.requests) == 2


def test_429_with_a_long_retry_after_gives_up_at_once_for_a_later_retry():
    shop = FakeShopify(httpx.Response(429, headers={"Retry-After": "120"}))
    waits: list[float] = []

    with pytest.raises(ChannelUnavailable) as unavailable:
        adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None)

    assert unavailable.value.retry_after == 120.0
    assert (len(shop.requests), waits) == (1, [])


def test_5xx_is_retried_with_growing_jittered_backoff_then_succeeds():
    shop = FakeShopify(httpx.Response(503), httpx.Response(502), ok({"count": 1}))
    waits: list[float] = []

    assert adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None) == 1

    assert len(shop.requests) == 3
    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 1.5
    assert 2.0 <= waits[1] <= 3.0


def test_5xx_forever_is_unavailable_after_max_attempts():
    shop = FakeShopify(httpx.Response(500, json={"errors": "Internal Server Error"}))
    waits: list[float] = []

    with pytest.raises(ChannelUnavailable) as unavailable:
        adapter(shop, waits=waits, max_attempts=3).count_orders(updated_since=None, updated_until=None)

    assert len(shop.requests) == 3
    assert len(waits) == 2
    assert unavailable.value.status == 500
    assert unavailable.value.retry_after is None


def test_401_is_an_auth_error_at_once_without_retry():
    shop = FakeShopify(
        httpx.Response(
            401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        )
    )
    waits: list[float] = []

    with pytest.raises(ChannelAuthError) as refused:
        adapter(shop, waits=waits).test_connection()

    assert len(shop.requests) == 1
    assert waits == []
    assert str(refused.value).startswith("The access token was refused (401). Create a new Admin API access token")
    assert TOKEN not in str(refused.value)


def test_403_names_the_missing_scope_in_shopifys_words():
    shop = FakeShopify(
        httpx.Response(403, json={"errors": "[API] This action requires merchant approval for read_orders scope."})
    )

    with pytest.raises(ChannelAuthError) as refused:
        adapter(shop).count_orders(updated_since=None, updated_until=None)

    assert refused.value.status == 403
    assert "requires merchant approval for read_orders scope" in str(refused.value)
    assert len(shop.requests) == 1


def test_a_timeout_is_retried():
    shop = FakeShopify(httpx.ReadTimeout("read timed out"), ok({"count": 5}))
    waits: list[float] = []

    assert adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None) == 5

    assert len(shop.requests) == 2
    assert len(waits) == 1


def test_timeouts_forever_are_unavailable():
    shop = FakeShopify(httpx.ConnectTimeout("connect timed out"))

    with pytest.raises(ChannelUnavailable, match="did not answer in time"):
        adapter(shop, max_attempts=2).count_orders(updated_since=None, updated_until=None)

    assert len(shop.requests) == 2


def test_other_4xx_is_a_channel_error_with_shopifys_words_and_no_retry():
    shop = FakeShopify(httpx.Response(422, json={"errors": {"updated_at_min": ["is not a valid date"]}}))

    with pytest.raises(ChannelError) as refused:
        adapter(shop).count_orders(updated_since=None, updated_until=None)

    assert not isinstance(refused.value, ChannelUnavailable | ChannelAuthError)
    assert str(refused.value) == "Shopify refused the request (422): updated_at_min: is not a valid date"
    assert len(shop.requests) == 1


def test_credentials_never_appear_in_error_messages():
    # given a channel that echoes the token back, and failures of every kind
    echoes = [
        httpx.Response(400, json={"errors": f"token {TOKEN} is malformed"}),
        httpx.Response(401, json={"errors": f"unknown token {TOKEN}"}),
        httpx.Response(302, headers={"Location": f"https://login.example/?token={TOKEN}"}),
    ]
    messages = []
    for answer in echoes:
        with pytest.raises(ChannelError) as failed:
            adapter(FakeShopify(answer)).test_connection()
        messages.append(str(failed.value))
    with pytest.raises(ChannelUnavailable) as down:
        adapter(FakeShopify(httpx.Response(503)), max_attempts=1).test_connection()
    messages.append(str(down.value))

    assert all(TOKEN not in message and SECRET not in message for message in messages)
    assert "[redacted]" in messages[0]
    assert TOKEN not in repr(adapter(FakeShopify(ok({}))))


# ------------------------------------------------------------------ fulfillment


def test_push_fulfillment_fulfils_our_lines_through_their_open_fulfillment_order():
    # given the documented fulfillment orders: red is open at one location, green already closed
    shop = FakeShopify(ok(fixture("fulfillment_orders.json")), ok(fixture("fulfillment.json")))

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
    fulfillment_orders = fixture("fulfillment_orders.json")
    fulfillment_orders["fulfillment_orders"][0]["status"] = "closed"
    shop = FakeShopify(
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
    shop = FakeShopify(ok(fixture("fulfillment_orders.json")), ok({"fulfillments": []}))

    with pytest.raises(ChannelError, match=r"nothing left to fulfil for line\(s\) 466157049 \(1 of 1\)"):
        adapter(shop).push_fulfillment(
            order_external_id="450789469", lines=[("466157049", 1)], carrier="UPS", tracking_number="1Z2345"
        )

    assert [r.method for r in shop.requests] == ["GET", "GET"]


# ------------------------------------------------------------------ webhooks


def test_webhook_with_the_right_signature_is_verified_whatever_the_header_case():
    body = json.dumps(doc_order()).encode()

    assert adapter(FakeShopify(ok({}))).verify_webhook(headers={"X-Shopify-Hmac-Sha256": sign(body)}, body=body)
    assert adapter(FakeShopify(ok({}))).verify_webhook(headers={"x-shopify-hmac-sha256": sign(body)}, body=body)


@pytest.mark.parametrize(
    ("headers", "credentials"),
    [
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 1}', "another-secret")}, {}),  # signed with another secret
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 2}')}, {}),  # signature of another body
        ({}, {}),  # header missing
        ({"X-Shopify-Hmac-Sha256": ""}, {}),
        ({"X-Shopify-Hmac-Sha256": sign(b'{"id": 1}', "")}, {"webhook_secret": ""}),  # no secret configured
    ],
)
def test_webhook_with_a_wrong_or_missing_signature_is_refused(headers, credentials):
    assert not adapter(FakeShopify(ok({})), **credentials).verify_webhook(headers=headers, body=b'{"id": 1}')


def test_parse_webhook_reads_delivery_topic_time_and_order():
    body = json.dumps(doc_order()).encode()
    headers = {
        "x-shopify-topic": "orders/updated",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
    }

    delivery = adapter(FakeShopify(ok({}))).parse_webhook(headers=headers, body=body)

    assert delivery == WebhookDelivery(
        delivery_id="98880550-7158-44d4-b7cd-2c97c8a091b5",
        topic="orders/updated",
        triggered_at=dt.datetime(2023, 3, 29, 18, 0, 27, 877041, tzinfo=UTC),
        payload=doc_order(),
    )


def test_parse_webhook_falls_back_to_the_webhook_id_then_to_the_body():
    shop = adapter(FakeShopify(ok({})))

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
        adapter(FakeShopify(ok({}))).parse_webhook(headers={"X-Shopify-Topic": "orders/create"}, body=body)


# ------------------------------------------------------------------ the registry


def test_adapters_are_found_by_channel_type_and_sandbox_speaks_shopify():
    built = get_adapter("sandbox", base_url="http://127.0.0.1:8765", credentials={"access_token": "sandbox-token"})

    assert isinstance(built, ShopifyAdapter)
    assert built.base_url == "http://127.0.0.1:8765"
    assert ADAPTERS == {"shopify": ShopifyAdapter, "sandbox": ShopifyAdapter, "woocommerce": WooCommerceAdapter}
    with pytest.raises(ValueError, match="spreadsheet"):
        get_adapter("spreadsheet", base_url="", credentials={})

"""The WooCommerce adapter against WooCommerce's documented payloads, served by httpx.MockTransport.

No database, no Django settings: the adapter is pure Python around httpx.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable, WebhookDelivery
from channels.adapters.woocommerce import WooCommerceAdapter
from orders.canonical import Address, ChannelOrderLine, NormalisationError
from tests.channels.helpers import fixture, sign

BASE = "https://example.com"
KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
WEBHOOK_SECRET = "wc-webhook-secret-42"
UTC = dt.UTC


class FakeWoo:
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


def adapter(store: FakeWoo, *, waits: list | None = None, base_url: str = BASE, **credentials) -> WooCommerceAdapter:
    return WooCommerceAdapter(
        base_url=base_url,
        credentials={"consumer_key": KEY, "consumer_secret": SECRET, "webhook_secret": WEBHOOK_SECRET, **credentials},
        client=store.client(),
        sleep=(waits.append if waits is not None else lambda seconds: None),
    )


def normalise(payload: dict):
    return WooCommerceAdapter(base_url=BASE, credentials={}).normalise(payload)


def query(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(str(request.url)).query).items()}


# ------------------------------------------------------------------ normalise


def test_the_documented_order_normalises_to_exact_amounts_times_address_and_lines():
    # given WooCommerce's documented order 727 ("Retrieve an order")
    payload = fixture("woocommerce/order.json")

    order = normalise(payload)

    assert (order.external_id, order.order_number, order.currency) == ("727", "727", "USD")
    assert order.placed_at == dt.datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.updated_at == dt.datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.lines == (
        ChannelOrderLine("315", "product:93", "Woo Single #1", 2, Decimal("3.00"), Decimal("0.00")),
        ChannelOrderLine(
            "316", "Bar3", "Ship Your Idea – Color: Black, Size: M Test", 1, Decimal("12.00"), Decimal("0.00")
        ),
    )
    assert (order.subtotal, order.discount_total, order.shipping_total, order.tax_total, order.total) == (
        Decimal("18.00"), Decimal("0.00"), Decimal("10.00"), Decimal("1.35"), Decimal("29.35"),
    )  # fmt: skip
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.total
    assert (order.buyer_name, order.buyer_email, order.buyer_phone) == (
        "John Doe",
        "john.doe@example.com",
        "(555) 555-5555",
    )
    assert order.shipping_address == Address(
        name="John Doe", country="US", province="CA", city="San Francisco", district="",
        line1="969 Market", line2="", postal_code="94103", phone="(555) 555-5555",
    )  # fmt: skip
    assert (order.financial_status, order.fulfillment_status, order.cancelled_at) == ("paid", "", None)
    assert (order.note, order.tags) == ("", ())


def test_the_documented_list_normalises_both_orders():
    page = fixture("woocommerce/orders_page.json")

    orders = [normalise(payload) for payload in page]

    assert [o.external_id for o in orders] == ["727", "723"]
    completed = orders[1]
    assert (completed.financial_status, completed.fulfillment_status) == ("paid", "fulfilled")
    assert (completed.subtotal, completed.shipping_total, completed.total) == (
        Decimal("29.00"), Decimal("10.00"), Decimal("39.00"),
    )  # fmt: skip
    assert completed.shipping_address.name == "João Silva"
    assert completed.shipping_address.country == "BR"
    assert [line.listing_sku for line in completed.lines] == ["product:87", "product:34"]


def test_cancelled_order_with_coupons_and_fees_falls_back_to_the_billing_address():
    # given a cancelled EUR order: coupon on both lines, a gift-wrap fee, a negative loyalty fee, no shipping address
    payload = fixture("woocommerce/order_cancelled.json")

    order = normalise(payload)

    assert order.cancelled_at == dt.datetime(2026, 11, 4, 12, 15, 30, tzinfo=UTC)
    assert (order.financial_status, order.fulfillment_status) == ("cancelled", "")
    assert [(line.listing_sku, line.unit_price, line.line_discount) for line in order.lines] == [
        ("variation:502", Decimal("10.00"), Decimal("4.00")),
        ("BEANIE-GRY", Decimal("10.00"), Decimal("1.00")),
    ]
    # the loyalty credit is a discount, the gift wrap a charge beside shipping; the parts add up
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        Decimal("30.00"), Decimal("9.00"), Decimal("6.00"), Decimal("27.00"),
    )  # fmt: skip
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.total
    assert order.shipping_address == Address(
        name="Lena Vogel", country="AT", province="", city="Wien", line1="Hauptstraße 5", postal_code="1010",
        phone="+43 1 234567",
    )  # fmt: skip
    assert order.note == "Leave at the door"


def test_chinese_address_and_a_price_that_does_not_divide_evenly():
    # given 3 cups for 10.00 CNY
    payload = fixture("woocommerce/order_china.json")

    order = normalise(payload)

    assert order.shipping_address == Address(
        name="李小红", country="CN", province="CN3", city="上海市", district="",
        line1="漕河泾开发区 宜山路700号", line2="C2栋 5楼", postal_code="200233", phone="+86 139 0013 9000",
    )  # fmt: skip
    assert order.buyer_name == "李小红"
    line = order.lines[0]
    assert line.title == "茶杯 & 杯垫"
    # the unit price rounds up to the fen; the difference is discount, so the line still nets 10.00
    assert (line.quantity, line.unit_price, line.line_discount) == (3, Decimal("3.34"), Decimal("0.02"))
    assert line.unit_price * line.quantity - line.line_discount == Decimal("10.00")
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        Decimal("10.02"), Decimal("0.02"), Decimal("12.00"), Decimal("22.00"),
    )  # fmt: skip
    assert (order.financial_status, order.fulfillment_status) == ("paid", "fulfilled")
    assert order.note == "工作日送货，谢谢"


def test_malformed_fixture_is_refused_naming_the_line_and_the_amount():
    payload = fixture("woocommerce/order_malformed.json")

    with pytest.raises(NormalisationError) as refused:
        normalise(payload)

    assert str(refused.value) == "line 316: total is not an amount: '12,00'"


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda o: o.update(id=None), "order id is missing"),
        (lambda o: o.update(currency=""), "currency is missing"),
        (lambda o: o.pop("line_items"), "line_items is missing"),
        (lambda o: o["line_items"][0].update(quantity="many"), "line 315: quantity is not a whole number: 'many'"),
        (lambda o: o["line_items"][0].update(quantity=-1), "quantity must be at least 1"),
        (lambda o: o["line_items"][0].pop("subtotal"), "line 315: subtotal is missing"),
        (lambda o: o["line_items"][0].update(total="7.00"), "line 315: total 7.00 is more than its subtotal 6.00"),
        (lambda o: o.update(total="abc"), "order 727: total is not an amount: 'abc'"),
        (lambda o: o.update(date_created_gmt=None), "date_created_gmt is missing"),
        (lambda o: o.update(date_modified_gmt="22/03/2017"), "date_modified_gmt is not a date and time"),
    ],
)
def test_unusable_payloads_are_refused_with_a_plain_reason(break_it, reason):
    payload = fixture("woocommerce/order.json")
    break_it(payload)

    with pytest.raises(NormalisationError) as refused:
        normalise(payload)

    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("pending", ("pending", "")),
        ("on-hold", ("on-hold", "")),
        ("processing", ("paid", "")),
        ("completed", ("paid", "fulfilled")),
        ("refunded", ("refunded", "")),
        ("failed", ("failed", "")),
        ("shipped", ("shipped", "")),  # a plugin's own status is kept as it is
    ],
)
def test_statuses_become_financial_and_fulfillment_words(status, words):
    payload = fixture("woocommerce/order.json")
    payload["status"] = status

    order = normalise(payload)

    assert (order.financial_status, order.fulfillment_status) == words
    assert order.cancelled_at is None


# ------------------------------------------------------------------ pulling


def test_pages_are_read_up_to_x_wp_totalpages_with_the_window_and_basic_auth():
    # given 3 pages
    store = FakeWoo(
        httpx.Response(200, json=[{"id": 1}, {"id": 2}], headers={"X-WP-Total": "5", "X-WP-TotalPages": "3"}),
        httpx.Response(200, json=[{"id": 3}, {"id": 4}], headers={"X-WP-Total": "5", "X-WP-TotalPages": "3"}),
        httpx.Response(200, json=[{"id": 5}], headers={"X-WP-Total": "5", "X-WP-TotalPages": "3"}),
    )
    since = dt.datetime(2026, 11, 1, 8, tzinfo=UTC)
    until = dt.datetime(2026, 11, 1, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    pages = list(adapter(store).iter_order_pages(updated_since=since, updated_until=until))

    assert [[o["id"] for o in page] for page in pages] == [[1, 2], [3, 4], [5]]
    assert [r.url.path for r in store.requests] == ["/wp-json/wc/v3/orders"] * 3
    assert [query(r) for r in store.requests] == [
        {
            "modified_after": "2026-11-01T08:00:00", "modified_before": "2026-11-01T10:30:00", "dates_are_gmt": "true",
            "per_page": "100", "orderby": "modified", "order": "asc", "page": str(page),
        }
        for page in (1, 2, 3)
    ]  # fmt: skip
    expected_auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert all(r.headers["Authorization"] == expected_auth for r in store.requests)


def test_without_the_pages_header_reading_stops_at_a_page_that_is_not_full():
    full = [{"id": n} for n in range(100)]
    store = FakeWoo(httpx.Response(200, json=full), httpx.Response(200, json=[{"id": 100}]))

    pages = list(adapter(store).iter_order_pages(updated_since=None))

    assert [len(page) for page in pages] == [100, 1]
    assert len(store.requests) == 2


def test_count_orders_reads_x_wp_total_from_a_one_order_page():
    store = FakeWoo(httpx.Response(200, json=[{"id": 1}], headers={"X-WP-Total": "42", "X-WP-TotalPages": "42"}))

    count = adapter(store).count_orders(updated_since=dt.datetime(2026, 11, 1, tzinfo=UTC), updated_until=None)

    assert count == 42
    assert query(store.requests[0]) == {
        "modified_after": "2026-11-01T00:00:00",
        "dates_are_gmt": "true",
        "per_page": "1",
    }


def test_count_orders_is_none_when_woocommerce_does_not_say():
    store = FakeWoo(httpx.Response(200, json=[]))

    assert adapter(store).count_orders(updated_since=None, updated_until=None) is None


def test_test_connection_reads_one_order_and_describes_the_store():
    store = FakeWoo(httpx.Response(200, json=fixture("woocommerce/orders_page.json")[:1], headers={"X-WP-Total": "2"}))

    assert adapter(store).test_connection() == "example.com (2 orders)"
    assert query(store.requests[0]) == {"per_page": "1"}


# ------------------------------------------------------------------ faults


def test_401_is_an_auth_error_at_once_and_points_to_https():
    store = FakeWoo(
        httpx.Response(
            401,
            json={
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            },
        )
    )
    waits: list[float] = []

    with pytest.raises(ChannelAuthError) as refused:
        adapter(store, waits=waits, base_url="http://shop.example").test_connection()

    assert len(store.requests) == 1
    assert waits == []
    message = str(refused.value)
    assert message.startswith("The consumer key or secret was refused (401).")
    assert "only over HTTPS" in message
    assert "Sorry, you cannot list resources." in message
    assert KEY not in message and SECRET not in message


def test_429_waits_the_retry_after_then_succeeds():
    store = FakeWoo(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=[], headers={"X-WP-Total": "0"})
    )
    waits: list[float] = []

    assert adapter(store, waits=waits).count_orders(updated_since=None, updated_until=None) == 0

    assert waits == [3.0]


def test_5xx_and_connection_failures_are_retried_then_unavailable():
    store = FakeWoo(httpx.Response(502), httpx.ConnectError("connection refused"), httpx.Response(503))
    waits: list[float] = []

    with pytest.raises(ChannelUnavailable) as unavailable:
        WooCommerceAdapter(
            base_url=BASE, credentials={"consumer_key": KEY, "consumer_secret": SECRET},
            client=store.client(), sleep=waits.append, max_attempts=4,
        ).count_orders(updated_since=None, updated_until=None)  # fmt: skip

    assert len(store.requests) == 4
    assert len(waits) == 3
    assert unavailable.value.status == 503


def test_a_timeout_is_retried():
    store = FakeWoo(httpx.ReadTimeout("read timed out"), httpx.Response(200, json=[], headers={"X-WP-Total": "7"}))

    assert adapter(store).count_orders(updated_since=None, updated_until=None) == 7
    assert len(store.requests) == 2


def test_other_4xx_carries_woocommerces_message_without_the_secret():
    store = FakeWoo(
        httpx.Response(
            400, json={"code": "rest_invalid_param", "message": f"Invalid parameter(s): consumer_secret {SECRET}"}
        )
    )

    with pytest.raises(ChannelError) as refused:
        adapter(store).count_orders(updated_since=None, updated_until=None)

    assert (
        str(refused.value) == "WooCommerce refused the request (400): Invalid parameter(s): consumer_secret [redacted]"
    )
    assert len(store.requests) == 1


def test_an_answer_that_is_not_json_is_a_channel_error():
    store = FakeWoo(httpx.Response(200, text="<html>Maintenance</html>"))

    with pytest.raises(ChannelError, match="not JSON"):
        adapter(store).test_connection()


# ------------------------------------------------------------------ fulfillment: see test_woocommerce_push.py


# ------------------------------------------------------------------ webhooks


def test_webhook_with_the_right_signature_is_verified_whatever_the_header_case():
    body = json.dumps(fixture("woocommerce/order.json")).encode()

    assert adapter(FakeWoo(httpx.Response(200))).verify_webhook(
        headers={"X-WC-Webhook-Signature": sign(body, WEBHOOK_SECRET)}, body=body
    )
    assert adapter(FakeWoo(httpx.Response(200))).verify_webhook(
        headers={"x-wc-webhook-signature": sign(body, WEBHOOK_SECRET)}, body=body
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"X-WC-Webhook-Signature": sign(b'{"id": 727}', "not-the-secret")},
        {"X-WC-Webhook-Signature": sign(b'{"id": 728}', WEBHOOK_SECRET)},
        {"X-Shopify-Hmac-Sha256": sign(b'{"id": 727}', WEBHOOK_SECRET)},  # another channel's header
        {},
    ],
)
def test_webhook_with_a_wrong_or_missing_signature_is_refused(headers):
    assert not adapter(FakeWoo(httpx.Response(200))).verify_webhook(headers=headers, body=b'{"id": 727}')


def test_parse_webhook_reads_delivery_topic_and_order():
    body = json.dumps(fixture("woocommerce/order.json")).encode()
    headers = {
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "x-wc-webhook-id": "12",
        "x-wc-webhook-delivery-id": "f4b5e0d1c2a3b4c5d6e7f8a9b0c1d2e3",
    }

    delivery = adapter(FakeWoo(httpx.Response(200))).parse_webhook(headers=headers, body=body)

    assert delivery == WebhookDelivery(
        delivery_id="f4b5e0d1c2a3b4c5d6e7f8a9b0c1d2e3",
        topic="order.updated",
        triggered_at=None,
        payload=fixture("woocommerce/order.json"),
    )


def test_parse_webhook_without_a_delivery_id_uses_the_body_and_refuses_a_ping():
    store = adapter(FakeWoo(httpx.Response(200)))

    delivery = store.parse_webhook(headers={"X-WC-Webhook-Topic": "order.created"}, body=b'{"id": 727}')

    assert delivery.delivery_id == "sha256:" + hashlib.sha256(b'{"id": 727}').hexdigest()
    with pytest.raises(ValueError):
        store.parse_webhook(headers={}, body=b"webhook_id=12")  # WooCommerce's form-encoded ping


def test_refunds_listed_on_the_order_add_up_to_its_refunded_total():
    payload = {
        **fixture("woocommerce/order.json"),
        "refunds": [{"id": 726, "reason": "", "total": "-10.00"}, {"id": 730, "reason": "dent", "total": "-2.50"}],
    }

    assert normalise(payload).refunded_total == Decimal("12.50")
    assert normalise(fixture("woocommerce/order.json")).refunded_total == 0

"""The Shopify adapter pulls pages of orders (Link headers, the call bucket) and handles faults: retries, waits, refusals.

No database: Shopify's answers are scripted per test (tests/channels/scripted_shopify.py).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable
from channels.adapters.shopify import API_VERSION
from tests.channels.helpers import fixture
from tests.channels.scripted_shopify import (
    API,
    SECRET,
    TOKEN,
    UTC,
    ScriptedShopify,
    adapter,
    ok,
    query,
)


def test_pages_follow_the_link_header_and_drop_filters_after_the_first_page():
    # given three pages chained by Link headers
    page1, page2 = f"{API}/orders.json?limit=250&page_info=p2", f"{API}/orders.json?limit=250&page_info=p3"
    shop = ScriptedShopify(
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
    shop = ScriptedShopify(ok({"orders": []}))

    assert list(adapter(shop).iter_order_pages(updated_since=None)) == []
    assert query(shop.requests[0]) == {"status": "any", "limit": "250", "order": "updated_at asc"}


def test_a_next_link_to_another_host_is_not_followed_with_the_token():
    shop = ScriptedShopify(
        ok({"orders": [{"id": 1}]}, Link='<https://evil.example/orders.json?page_info=x>; rel="next"')
    )
    pages = adapter(shop).iter_order_pages(updated_since=None)

    assert next(pages) == [{"id": 1}]
    with pytest.raises(ChannelError, match="another host"):
        next(pages)
    assert len(shop.requests) == 1


def test_a_nearly_full_call_bucket_pauses_before_the_next_call():
    # given the first page leaves the leaky bucket at 39 of 40
    shop = ScriptedShopify(
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
    shop = ScriptedShopify(ok({"count": 17}))

    count = adapter(shop).count_orders(
        updated_since=dt.datetime(2026, 11, 1, tzinfo=UTC), updated_until=dt.datetime(2026, 11, 2, tzinfo=UTC)
    )

    assert count == 17
    assert shop.requests[0].url.path == f"/admin/api/{API_VERSION}/orders/count.json"
    assert query(shop.requests[0]) == {
        "status": "any", "updated_at_min": "2026-11-01T00:00:00+00:00", "updated_at_max": "2026-11-02T00:00:00+00:00",
    }  # fmt: skip


def test_test_connection_names_the_shop():
    shop = ScriptedShopify(ok(fixture("shopify/shop.json")))

    assert adapter(shop).test_connection() == "John Smith Test Store"
    assert shop.requests[0].url.path == f"/admin/api/{API_VERSION}/shop.json"


# ------------------------------------------------------------------ faults and retries


def test_every_request_carries_explicit_timeouts():
    shop = ScriptedShopify(ok({"count": 0}))

    adapter(shop).count_orders(updated_since=None, updated_until=None)

    assert shop.requests[0].extensions["timeout"] == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_429_waits_the_retry_after_then_succeeds():
    shop = ScriptedShopify(
        httpx.Response(429, headers={"Retry-After": "2.0"}, json={"errors": "Exceeded 2 calls per second"}),
        ok({"count": 3}),
    )
    waits: list[float] = []

    count = adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None)

    assert count == 3
    assert waits == [2.0]
    assert len(shop.requests) == 2


def test_429_with_a_long_retry_after_gives_up_at_once_for_a_later_retry():
    shop = ScriptedShopify(httpx.Response(429, headers={"Retry-After": "120"}))
    waits: list[float] = []

    with pytest.raises(ChannelUnavailable) as unavailable:
        adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None)

    assert unavailable.value.retry_after == 120.0
    assert (len(shop.requests), waits) == (1, [])


def test_5xx_is_retried_with_growing_jittered_backoff_then_succeeds():
    shop = ScriptedShopify(httpx.Response(503), httpx.Response(502), ok({"count": 1}))
    waits: list[float] = []

    assert adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None) == 1

    assert len(shop.requests) == 3
    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 1.5
    assert 2.0 <= waits[1] <= 3.0


def test_5xx_forever_is_unavailable_after_max_attempts():
    shop = ScriptedShopify(httpx.Response(500, json={"errors": "Internal Server Error"}))
    waits: list[float] = []

    with pytest.raises(ChannelUnavailable) as unavailable:
        adapter(shop, waits=waits, max_attempts=3).count_orders(updated_since=None, updated_until=None)

    assert len(shop.requests) == 3
    assert len(waits) == 2
    assert unavailable.value.status == 500
    assert unavailable.value.retry_after is None


def test_401_is_an_auth_error_at_once_without_retry():
    shop = ScriptedShopify(
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
    shop = ScriptedShopify(
        httpx.Response(403, json={"errors": "[API] This action requires merchant approval for read_orders scope."})
    )

    with pytest.raises(ChannelAuthError) as refused:
        adapter(shop).count_orders(updated_since=None, updated_until=None)

    assert refused.value.status == 403
    assert "requires merchant approval for read_orders scope" in str(refused.value)
    assert len(shop.requests) == 1


def test_a_timeout_is_retried():
    shop = ScriptedShopify(httpx.ReadTimeout("read timed out"), ok({"count": 5}))
    waits: list[float] = []

    assert adapter(shop, waits=waits).count_orders(updated_since=None, updated_until=None) == 5

    assert len(shop.requests) == 2
    assert len(waits) == 1


def test_timeouts_forever_are_unavailable():
    shop = ScriptedShopify(httpx.ConnectTimeout("connect timed out"))

    with pytest.raises(ChannelUnavailable, match="did not answer in time"):
        adapter(shop, max_attempts=2).count_orders(updated_since=None, updated_until=None)

    assert len(shop.requests) == 2


def test_other_4xx_is_a_channel_error_with_shopifys_words_and_no_retry():
    shop = ScriptedShopify(httpx.Response(422, json={"errors": {"updated_at_min": ["is not a valid date"]}}))

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
            adapter(ScriptedShopify(answer)).test_connection()
        messages.append(str(failed.value))
    with pytest.raises(ChannelUnavailable) as down:
        adapter(ScriptedShopify(httpx.Response(503)), max_attempts=1).test_connection()
    messages.append(str(down.value))

    assert all(TOKEN not in message and SECRET not in message for message in messages)
    assert "[redacted]" in messages[0]
    assert TOKEN not in repr(adapter(ScriptedShopify(ok({}))))

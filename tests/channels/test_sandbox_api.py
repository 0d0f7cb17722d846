"""The sandbox shop's Admin API over a real local HTTP server: shop.json, tokens, listing and paging, counts, the call limit.

No Django and no database: the shop and its server are plain Python, and time is a fake clock
(the clock, sandbox and sandbox_api fixtures of tests/channels/conftest.py).
"""

from __future__ import annotations

import re

import httpx
import pytest

from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import INVALID_TOKEN
from tests.channels.sandbox_helpers import (
    TOKEN,
    VERSION,
    http_client,
    pull,
    running,
    stamp,
    utc,
)

# ---------------------------------------------------------------------- shop.json, auth, unknown paths


def test_shop_json_describes_the_sandbox_shop(sandbox_api):
    # when
    response = sandbox_api.get("shop.json")

    # then
    assert response.status_code == 200
    shop = response.json()["shop"]
    assert shop["name"] == "Relay Sandbox Shop"
    assert shop["currency"] == "USD"
    assert shop["domain"].startswith("127.0.0.1:")
    assert re.fullmatch(r"\d+/40", response.headers["X-Shopify-Shop-Api-Call-Limit"])


def test_any_api_version_in_the_path_is_accepted(sandbox):
    # given
    with running(sandbox) as base_url, httpx.Client(trust_env=False, headers={"X-Shopify-Access-Token": TOKEN}) as http:
        # when
        answers = [http.get(f"{base_url}/admin/api/{version}/shop.json") for version in ("2024-01", "unstable")]

    # then
    assert [answer.status_code for answer in answers] == [200, 200]


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_a_wrong_or_missing_access_token_is_refused_and_not_counted(sandbox, token):
    # given
    with running(sandbox) as base_url, http_client(base_url, token) as intruder, http_client(base_url) as owner:
        # when
        refused = [intruder.get("orders.json") for _ in range(3)]
        allowed = owner.get("shop.json")

    # then
    assert [response.status_code for response in refused] == [401, 401, 401]
    assert refused[0].json() == {"errors": INVALID_TOKEN}
    assert "X-Shopify-Shop-Api-Call-Limit" in refused[0].headers
    assert allowed.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"


def test_unknown_paths_and_orders_are_404(sandbox_api, sandbox):
    # given
    sandbox.generate(1)

    # when
    answers = [
        sandbox_api.get("products/nope.json"),
        sandbox_api.get("orders/1.json"),
        sandbox_api.get("orders/1/fulfillment_orders.json"),
    ]

    # then
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert all(answer.json() == {"errors": "Not Found"} for answer in answers)


# ---------------------------------------------------------------------- listing and paging


def test_pages_follow_the_link_header_and_return_every_order_once_in_update_order(sandbox_api, sandbox, clock):
    # given: orders over two moments, and older orders changed later so update order differs from id order
    sandbox.generate(12)
    clock.advance(90)
    sandbox.generate(11)
    clock.advance(90)
    everyone = sandbox.list_orders(limit=250)
    refundable = next(order for order in everyone[1:] if order["financial_status"] == "paid")
    sandbox.cancel_order(everyone[0]["id"])
    sandbox.refund_line(refundable["id"])

    # when
    orders, responses = pull(sandbox_api, status="any", limit=5)

    # then
    ids = [order["id"] for order in orders]
    assert sorted(ids) == sorted(order["id"] for order in everyone)
    assert len(ids) == len(set(ids)) == 23
    assert [(stamp(o), o["id"]) for o in orders] == sorted((stamp(o), o["id"]) for o in orders)
    assert ids[-2:] == [everyone[0]["id"], refundable["id"]]
    assert len(responses) == 5
    assert set(responses[0].links) == {"next"}
    assert all(set(r.links) == {"previous", "next"} for r in responses[1:-1])
    assert set(responses[-1].links) == {"previous"}
    next_url = responses[0].links["next"]["url"]
    assert re.fullmatch(
        rf"http://127\.0\.0\.1:\d+/admin/api/{VERSION}/orders\.json\?limit=5&page_info=[\w-]+", next_url
    )


def test_the_previous_link_leads_back_to_the_page_before(sandbox_api, sandbox):
    # given
    sandbox.generate(9)
    first = sandbox_api.get("orders.json", params={"limit": 4})
    second = sandbox_api.get(first.links["next"]["url"])

    # when
    back = sandbox_api.get(second.links["previous"]["url"])

    # then
    assert [o["id"] for o in back.json()["orders"]] == [o["id"] for o in first.json()["orders"]]


def test_updated_at_bounds_select_by_last_update_and_pages_keep_them(sandbox_api, sandbox, clock):
    # given
    early = [order["id"] for order in sandbox.generate(4)]
    clock.advance(60)
    late = [order["id"] for order in sandbox.generate(3)]

    # when: the bound in UTC, as Relay's adapter sends it, and in the shop's own offset
    since, _ = pull(sandbox_api, status="any", updated_at_min=utc(clock.now), limit=2)
    until = sandbox_api.get("orders.json", params={"status": "any", "updated_at_max": utc(clock.now - 1)}).json()[
        "orders"
    ]
    local = sandbox_api.get("orders.json", params={"updated_at_min": "2026-11-20T09:01:00+08:00"}).json()["orders"]

    # then
    assert [order["id"] for order in since] == late
    assert [order["id"] for order in until] == early
    assert [order["id"] for order in local] == late


def test_page_info_with_another_filter_is_refused_like_shopify(sandbox_api, sandbox):
    # given
    sandbox.generate(6)
    next_url = sandbox_api.get("orders.json", params={"status": "any", "limit": 2}).links["next"]["url"]

    # when
    refused = sandbox_api.get(f"{next_url}&status=any")
    allowed = sandbox_api.get(next_url.replace("limit=2", "limit=3"))
    forged = sandbox_api.get("orders.json", params={"page_info": "not-a-token"})

    # then
    assert refused.status_code == 400
    assert refused.json()["errors"].startswith("status cannot be passed when page_info is present.")
    assert allowed.status_code == 200
    assert len(allowed.json()["orders"]) == 3
    assert forged.status_code == 400


def test_limit_is_capped_at_250(sandbox_api, sandbox):
    # given
    sandbox.generate(260)

    # when
    response = sandbox_api.get("orders.json", params={"limit": 1000})

    # then
    assert len(response.json()["orders"]) == 250
    assert "next" in response.links


def test_the_default_status_is_open_as_in_shopify(sandbox_api, sandbox, clock):
    # given
    orders = sandbox.generate(5)
    clock.advance(120)
    sandbox.cancel_order(orders[2]["id"])

    # when
    default = sandbox_api.get("orders.json").json()["orders"]
    cancelled = sandbox_api.get("orders.json", params={"status": "cancelled"}).json()["orders"]

    # then
    assert orders[2]["id"] not in {order["id"] for order in default}
    assert [order["id"] for order in cancelled] == [orders[2]["id"]]


def test_count_json_counts_what_orders_json_lists(sandbox_api, sandbox, clock):
    # given
    sandbox.generate(7)
    clock.advance(60)
    sandbox.generate(5)
    sandbox.cancel_order(sandbox.list_orders(limit=1)[0]["id"])
    listed, _ = pull(sandbox_api, status="any", limit=4)

    # when
    everything = sandbox_api.get("orders/count.json", params={"status": "any"})
    recent = sandbox_api.get("orders/count.json", params={"status": "any", "updated_at_min": utc(clock.now)})
    open_only = sandbox_api.get("orders/count.json")

    # then
    assert len(listed) == 12
    assert everything.json() == {"count": 12}
    assert recent.json() == {"count": 6}
    assert open_only.json() == {"count": 11}


# ---------------------------------------------------------------------- call limit


def test_the_call_limit_bucket_overflows_into_429_and_drains_with_time(clock):
    # given: a bucket on the fake clock, so no call drains until the test moves time
    sandbox = SandboxShop(seed=1, clock=clock)
    with running(sandbox, clock=clock) as base_url, http_client(base_url) as sandbox_api:
        # when
        within = [sandbox_api.get("shop.json") for _ in range(40)]
        over = sandbox_api.get("shop.json")
        clock.advance(1.0)  # two calls leak out
        after_a_second = sandbox_api.get("shop.json")

    # then
    assert all(response.status_code == 200 for response in within)
    assert within[-1].headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert over.status_code == 429
    assert over.headers["Retry-After"] == "2.0"
    assert over.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert after_a_second.status_code == 200
    assert after_a_second.headers["X-Shopify-Shop-Api-Call-Limit"] == "39/40"

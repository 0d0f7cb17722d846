"""The sandbox shop's read-only pages for a person: its orders, and an order's fulfillments with their tracking.

No Django and no database: the shop is served on a free local port.
"""

from __future__ import annotations

import httpx

from channels.sandbox.generator import SandboxShop
from tests.channels.sandbox_helpers import fulfil, http_client, running

URL = "https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/SF0000000000042"


def fulfil_with_tracking(api: httpx.Client, order: dict, *, company: str, number: str, url: str) -> dict:
    (fo,) = api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"]
    item = fo["line_items"][0]
    body = fulfil(fo["id"], item["id"], item["fulfillable_quantity"])
    body["fulfillment"]["tracking_info"] = {"company": company, "number": number, "url": url}
    response = api.post("fulfillments.json", json=body)
    assert response.status_code == 201, response.text
    return response.json()["fulfillment"]


def test_an_order_page_shows_its_fulfillments_with_tracking(sandbox: SandboxShop):
    # given an order of two lines, one of them fulfilled with tracking
    sandbox.line_count_weights = (0, 1, 0, 0, 0)
    (order,) = sandbox.generate(1)
    with running(sandbox) as base_url, http_client(base_url) as api, httpx.Client(trust_env=False) as browser:
        fulfil_with_tracking(api, order, company="SF Express", number="SF0000000000042", url=URL)

        # when a person opens the order's page (no token: it is read-only)
        page = browser.get(f"{base_url}/admin/orders/{order['id']}")
        listing = browser.get(f"{base_url}/admin/orders")
        missing = browser.get(f"{base_url}/admin/orders/1")

    # then
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "SF Express" in html and f'<a href="{URL}" rel="noopener noreferrer">SF0000000000042</a>' in html
    assert "partial" in html
    assert f'href="/admin/orders/{order["id"]}"' in listing.text and order["name"] in listing.text
    assert missing.status_code == 404


def test_the_pages_escape_what_the_shop_holds(sandbox: SandboxShop):
    (order,) = sandbox.generate(1)
    with running(sandbox) as base_url, http_client(base_url) as api, httpx.Client(trust_env=False) as browser:
        fulfil_with_tracking(api, order, company="<script>alert(1)</script>", number="X1", url="javascript:alert(1)")
        html = browser.get(f"{base_url}/admin/orders/{order['id']}").text

    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html


def test_the_api_still_needs_its_token(sandbox: SandboxShop):
    with running(sandbox) as base_url, httpx.Client(trust_env=False) as browser:
        assert browser.get(f"{base_url}/admin/api/2025-07/orders.json").status_code == 401

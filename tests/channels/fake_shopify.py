"""A Shopify Admin REST API double for sync tests, served through httpx.MockTransport.

It speaks the documented format (orders.json with updated_at_min/max, limit,
Link-header cursor pagination, orders/count.json, shop.json,
X-Shopify-Shop-Api-Call-Limit) and can be told to fail: 429 with Retry-After,
5xx, 401, or one malformed order.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

BASE = "https://fake-shop.myshopify.com"
TOKEN = "shpat_test_token_0123456789"


def shopify_order(
    order_id: int,
    *,
    updated_at: dt.datetime,
    currency: str = "USD",
    lines: list[tuple[str, int, str]] | None = None,
    discount: str = "0.00",
    shipping: str = "5.00",
    cancelled: bool = False,
) -> dict:
    lines = lines or [("SKU-A", 1, "10.00"), ("SKU-B", 2, "7.50")]
    items = sum((int(q) * _d(p) for _s, q, p in lines), _d("0"))
    total = items - _d(discount) + _d(shipping)
    stamp = updated_at.isoformat()
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "order_number": order_id,
        "email": f"buyer{order_id}@example.com",
        "phone": None,
        "created_at": (updated_at - dt.timedelta(hours=1)).isoformat(),
        "updated_at": stamp,
        "cancelled_at": stamp if cancelled else None,
        "currency": currency,
        "financial_status": "voided" if cancelled else "paid",
        "fulfillment_status": None,
        "note": None,
        "tags": "",
        "subtotal_price": f"{items - _d(discount):.2f}",
        "total_line_items_price": f"{items:.2f}",
        "total_discounts": discount,
        "total_tax": "0.00",
        "total_price": f"{total:.2f}",
        "total_shipping_price_set": {
            "shop_money": {"amount": shipping, "currency_code": currency},
            "presentment_money": {"amount": shipping, "currency_code": currency},
        },
        "shipping_lines": [{"title": "Standard", "price": shipping, "code": "STD"}],
        "customer": {"id": 1000 + order_id, "first_name": "Ada", "last_name": f"Buyer{order_id}", "email": f"buyer{order_id}@example.com"},
        "shipping_address": {
            "first_name": "Ada", "last_name": f"Buyer{order_id}", "name": f"Ada Buyer{order_id}",
            "address1": "1 Main St", "address2": "", "city": "Springfield", "province": "Oregon",
            "province_code": "OR", "country": "United States", "country_code": "US", "zip": "97477", "phone": None,
        },
        "line_items": [
            {
                "id": order_id * 100 + i, "variant_id": 5000 + i, "product_id": 6000 + i, "sku": sku,
                "title": f"Product {sku}", "name": f"Product {sku}", "quantity": qty, "price": price,
                "total_discount": "0.00", "discount_allocations": [], "fulfillable_quantity": qty,
            }
            for i, (sku, qty, price) in enumerate(lines, start=1)
        ],
        "refunds": [],
    }  # fmt: skip


def _d(text: str) -> Decimal:
    return Decimal(text)


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class FakeShopify:
    orders: dict[int, dict] = field(default_factory=dict)
    page_limit: int | None = None  # force small pages regardless of `limit`
    fail_next: list[tuple[int, dict]] = field(default_factory=list)  # (status, headers) for the next requests
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_page: object = None  # callable(page_number) run before a page is served

    def add(self, payload: dict) -> None:
        self.orders[payload["id"]] = payload

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            if self.fail_next:
                status, headers = self.fail_next.pop(0)
                return httpx.Response(status, headers=headers, json={"errors": "injected"})
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            return httpx.Response(
                401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            )
        path = urlparse(str(request.url)).path
        query = {k: v[0] for k, v in parse_qs(urlparse(str(request.url)).query).items()}
        headers = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
        if path.endswith("/shop.json"):
            return httpx.Response(
                200, headers=headers, json={"shop": {"name": "Fake Shop", "domain": "fake-shop.myshopify.com"}}
            )
        if path.endswith("/orders/count.json"):
            return httpx.Response(200, headers=headers, json={"count": len(self._select(query))})
        if path.endswith("/orders.json"):
            return self._orders_page(request, query, headers)
        return httpx.Response(404, json={"errors": "Not Found"})

    def _select(self, query: dict) -> list[dict]:
        lo = _parse_time(query["updated_at_min"]) if query.get("updated_at_min") else None
        hi = _parse_time(query["updated_at_max"]) if query.get("updated_at_max") else None
        rows = []
        for order in self.orders.values():
            updated = _parse_time(order["updated_at"]) if isinstance(order.get("updated_at"), str) else None
            if updated is None:
                rows.append(order)  # malformed orders are still listed, as a broken channel would
                continue
            if (lo and updated < lo) or (hi and updated > hi):
                continue
            rows.append(order)
        return sorted(rows, key=lambda o: (str(o.get("updated_at")), str(o.get("id"))))

    def _orders_page(self, request, query, headers) -> httpx.Response:
        if "page_info" in query:
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            filters, offset = state["filters"], state["offset"]
        else:
            filters, offset = {k: v for k, v in query.items() if k in ("updated_at_min", "updated_at_max", "status")}, 0
        limit = min(int(query.get("limit", 50)), 250)
        if self.page_limit:
            limit = min(limit, self.page_limit)
        rows = self._select(filters)
        page = rows[offset : offset + limit]
        if callable(self.on_page):
            self.on_page(offset // limit + 1)
        if offset + limit < len(rows):
            token = base64.urlsafe_b64encode(
                json.dumps({"filters": filters, "offset": offset + limit}).encode()
            ).decode()
            url = f"{BASE}{urlparse(str(request.url)).path}?{urlencode({'limit': query.get('limit', 50), 'page_info': token})}"
            headers["Link"] = f'<{url}>; rel="next"'
        return httpx.Response(200, headers=headers, json={"orders": page})

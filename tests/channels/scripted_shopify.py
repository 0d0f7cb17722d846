"""A Shopify Admin API that answers what each test scripts, through httpx.MockTransport, and an adapter on it.

No database, no Django settings: the adapter is pure Python around httpx.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx

from channels.adapters.shopify import API_VERSION, ShopifyAdapter
from tests.channels.helpers import fixture

BASE = "https://jsmith.myshopify.com"
API = f"{BASE}/admin/api/{API_VERSION}"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
SECRET = "whsec_shopify_0123456789"
UTC = dt.UTC


def doc_order() -> dict:
    """Shopify's documented order #1001."""
    return fixture("shopify/order.json")["order"]


class ScriptedShopify:
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


def adapter(
    shop: ScriptedShopify, *, waits: list | None = None, max_attempts: int = 5, **credentials
) -> ShopifyAdapter:
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

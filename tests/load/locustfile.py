"""The load run's users (locust), started by tests/load/run.py; never collected by pytest.

Every request goes to 127.0.0.1 with the tenant's host in the Host header (``*.localhost`` does not resolve
everywhere). Request names start with their group (merchant, supplier, finance, api, webhook); run.py turns
the samples this file writes at the end (LOAD_SAMPLES) into figures.

- merchant: signs in, browses orders (pages, filters, search, an order), holds, dashboard, products.
- supplier: signs in, browses the portal queue and a dispatch; accepts pending dispatches and ships accepted
  ones through the portal API with its token. A 400 there is a dispatch another user moved on: "refused".
- finance: signs in, browses settlement, this month, adjustments, payouts, reconciliation, margins, exports.
- api: the merchant's token on orders, products, suppliers, holds.
- webhook: new Shopify orders, signed with the store's webhook secret; the accepted ones are recorded.

Sign-ins (Argon2, deliberately slow) are their own group, ``login``. Once every user has started and signed
in, the users work LOAD_SECONDS more and the run stops: run.py measures the other groups over that part.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import threading
import time

import gevent
from locust import HttpUser, between, events, task

with open(os.environ["LOAD_PLAN"], encoding="utf-8") as _plan:
    PLAN = json.load(_plan)
TENANTS = PLAN["tenants"]
PASSWORD = PLAN["password"]
SAMPLES: list[tuple[str, float, str, float]] = []  # (name, milliseconds, outcome: ok | error | refused, time)
SPAWNED: list[float] = []  # when every user had been started
READY: list[int] = []  # one entry per user whose on_start (sign-in) is done
STEADY: list[float] = []  # when the last sign-in was done: the measured part begins
ACCEPTED: list[tuple[str, str, str]] = []  # (tenant slug, external id, webhook outcome)
_lock = threading.Lock()
_MONTH = re.compile(r'href="/settlement/(\d{4}-\d{2})/"')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Webhook order ids: above the seed's, never the same twice in a run.
_order_ids = itertools.count(1_000_000)


@events.request.add_listener
def _record(name, response_time, exception, context, **_kwargs):
    outcome = (context or {}).get("outcome") or ("error" if exception else "ok")
    with _lock:
        SAMPLES.append((name, response_time, outcome, time.time()))


@events.spawning_complete.add_listener
def _spawned(user_count, **_kwargs):
    SPAWNED.append(time.time())


@events.test_start.add_listener
def _measure(environment, **_kwargs):
    """Once every user has started and signed in, let them work LOAD_SECONDS, then stop the run."""

    def steady_then_stop():
        while not SPAWNED or len(READY) < environment.runner.user_count:
            gevent.sleep(0.2)
        STEADY.append(time.time())
        gevent.sleep(float(os.environ.get("LOAD_SECONDS", "180")))
        environment.runner.quit()

    gevent.spawn(steady_then_stop)


@events.quitting.add_listener
def _write(environment, **_kwargs):
    with open(os.environ["LOAD_SAMPLES"], "w", encoding="utf-8") as handle:
        json.dump({"samples": SAMPLES, "accepted": ACCEPTED, "steady": STEADY[:1], "ended": time.time()}, handle)


class _TenantUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    _counter = None

    def on_start(self):
        cls = type(self)
        if cls._counter is None:
            cls._counter = itertools.count()
        self.index = next(cls._counter)
        self.tenant = TENANTS[self.index % len(TENANTS)]
        self.use(self.tenant)
        self.sign_in()
        READY.append(self.index)

    def sign_in(self) -> None:
        """Whatever the user does once before working (a browser user signs in)."""

    def use(self, tenant: dict) -> None:
        """Speak to ``tenant``'s host from now on."""
        self.tenant = tenant
        self.client.headers["Host"] = f"{tenant['host']}:{self.host.rsplit(':', 1)[1]}"

    def login(self, email: str) -> None:
        page = self.client.get("/login/", name=f"login:{self.group}")
        token = _CSRF.search(page.text)
        with self.client.post(
            "/login/",
            data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
            name=f"login:{self.group}",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {email} answered {response.status_code}")

    def page(self, path: str, name: str, **params):
        with self.client.get(path, params=params or None, name=f"{self.group}:{name}", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{path} answered {r.status_code}")
            return r


class Merchant(_TenantUser):
    group = "merchant"
    weight = 4

    def sign_in(self):
        self.login(self.tenant["merchant"])

    @task(4)
    def orders(self):
        self.page("/orders/", "orders")

    @task(2)
    def orders_page_two(self):
        self.page("/orders/", "orders?page", page=2)

    @task(2)
    def orders_filtered(self):
        self.page("/orders/", "orders?filter", status=random.choice(["open", "", "shipped"]), payment="paid")

    @task(1)
    def orders_search(self):
        self.page("/orders/", "orders?q", q=random.choice(["Buyer", "TEE", "#10", "Ada"]))

    @task(2)
    def order(self):
        self.page(f"/orders/{random.choice(self.tenant['orders'])}/", "order")

    @task(2)
    def holds(self):
        self.page("/orders/holds/", "holds")

    @task(2)
    def dashboard(self):
        self.page("/dashboard/", "dashboard")

    @task(2)
    def products(self):
        self.page("/products/", "products")

    @task(1)
    def products_search(self):
        self.page("/products/", "products?q", q=random.choice(["TEE", "MUG", "SOCK"]))


class Supplier(_TenantUser):
    group = "supplier"
    weight = 4

    def sign_in(self):
        supplier = self.tenant["suppliers"][(self.index // len(TENANTS)) % len(self.tenant["suppliers"])]
        self.email = supplier["email"]
        self.token = self.tenant["tokens"][self.email]
        self.login(self.email)

    @task(3)
    def queue(self):
        self.page("/portal/dispatches/", "dispatches")

    @task(2)
    def queue_to_accept(self):
        self.page("/portal/dispatches/", "dispatches?state", state=random.choice(["pending", "accepted"]))

    @task(1)
    def home(self):
        self.page("/portal/", "home")

    @task(1)
    def statements(self):
        self.page("/portal/statements/", "statements")

    def _api(self, method: str, path: str, name: str, payload: dict | None = None):
        with self.client.request(
            method, path, json=payload, name=f"{self.group}:{name}", catch_response=True,
            headers={"Authorization": f"Token {self.token}"},
        ) as response:  # fmt: skip
            if response.status_code == 400 and method == "POST":
                response.request_meta["context"]["outcome"] = "refused"
                response.success()
            elif response.status_code != 200:
                response.failure(f"{path} answered {response.status_code}")
            return response

    def _first(self, status: str) -> int | None:
        listed = self._api("GET", f"/api/v1/portal/dispatches/?state={status}", f"api dispatches?{status}")
        try:
            results = listed.json()
        except ValueError:
            return None
        rows = results.get("results", []) if isinstance(results, dict) else results
        return random.choice(rows)["id"] if rows else None

    @task(3)
    def accept(self):
        pk = self._first("pending")
        if pk is None:
            return
        self.page(f"/portal/dispatches/{pk}/", "dispatch")
        promised = (dt.date.today() + dt.timedelta(days=2)).isoformat()
        self._api("POST", f"/api/v1/portal/dispatches/{pk}/accept/", "accept", {"promised_ship_date": promised})

    @task(2)
    def ship(self):
        pk = self._first("accepted")
        if pk is None:
            return
        tracking = f"SF{random.randrange(10**12, 10**13):013d}"
        self._api(
            "POST", f"/api/v1/portal/dispatches/{pk}/ship/", "ship",
            {"parcels": [{"carrier": "sf", "tracking_number": tracking}]},
        )  # fmt: skip


class Finance(_TenantUser):
    group = "finance"
    weight = 2

    def sign_in(self):
        self.login(self.tenant["finance"])

    @task(3)
    def settlement(self):
        index = self.page("/settlement/", "settlement")
        self.months = sorted(set(_MONTH.findall(index.text))) or getattr(self, "months", [])

    @task(2)
    def month(self):
        if getattr(self, "months", None):
            self.page(f"/settlement/{random.choice(self.months)}/", "month")

    @task(1)
    def adjustments(self):
        self.page("/settlement/adjustments/", "adjustments")

    @task(1)
    def payouts(self):
        self.page("/settlement/payouts/", "payouts")

    @task(1)
    def reconciliation(self):
        self.page("/settlement/reconciliation/", "reconciliation")

    @task(1)
    def margins(self):
        self.page("/settlement/margins/", "margins")

    @task(1)
    def exports(self):
        self.page("/settlement/exports/", "exports")


class Api(_TenantUser):
    """A merchant's integration: each call with a random tenant's token, on that tenant's host."""

    group = "api"
    weight = 2

    def use(self, tenant: dict) -> None:
        super().use(tenant)
        self.client.headers["Authorization"] = f"Token {tenant['tokens'][tenant['merchant']]}"

    def page(self, path: str, name: str, **params):
        if params.pop("same_tenant", False) is False:
            self.use(random.choice(TENANTS))
        return super().page(path, name, **params)

    @task(3)
    def orders(self):
        self.page("/api/v1/orders/", "orders")

    @task(2)
    def order(self):
        tenant = random.choice(TENANTS)
        self.use(tenant)
        self.page(f"/api/v1/orders/{random.choice(tenant['orders'])}/", "order", same_tenant=True)

    @task(2)
    def products(self):
        self.page("/api/v1/products/", "products")

    @task(1)
    def suppliers(self):
        self.page("/api/v1/suppliers/", "suppliers")

    @task(1)
    def holds(self):
        self.page("/api/v1/routing/holds/", "holds")


class Webhook(_TenantUser):
    """A channel delivering new orders; a delivery not answered 200 is an error (the channel would retry)."""

    group = "webhook"
    weight = 2
    wait_time = between(0.5, 1.5)

    @task
    def new_order(self):
        self.use(random.choice(TENANTS))
        order_id = next(_order_ids)
        now = dt.datetime.now(dt.UTC)
        payload = _shopify_order(order_id, now)
        body = json.dumps(payload).encode()
        digest = hmac.new(self.tenant["webhook_secret"].encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Event-Id": f"load-{order_id}",
            "X-Shopify-Triggered-At": payload["updated_at"],
        }
        with self.client.post(
            self.tenant["webhook"], data=body, headers=headers, name="webhook:orders/create", catch_response=True
        ) as response:
            if response.status_code == 200:
                with _lock:
                    ACCEPTED.append((self.tenant["slug"], str(order_id), response.json().get("outcome", "")))
            else:
                response.failure(f"webhook answered {response.status_code}")


def _shopify_order(order_id: int, now: dt.datetime) -> dict:
    """A Shopify orders/create body of two catalogue lines (the seed's shape, without importing Django)."""
    lines = PLAN["skus"]
    picked = [lines[(order_id * 7 + k * 13) % len(lines)] for k in range(1 + order_id % 3)]
    items = [
        {
            "id": order_id * 100 + i, "variant_id": 5000 + i, "product_id": 6000 + i, "sku": sku,
            "title": sku, "name": sku, "quantity": 1, "price": price, "total_discount": "0.00",
            "discount_allocations": [], "fulfillable_quantity": 1,
        }
        for i, (sku, price) in enumerate(picked, start=1)
    ]  # fmt: skip
    total = f"{sum(float(price) for _sku, price in picked):.2f}"
    stamp = now.isoformat()
    address = {
        "first_name": "Ada", "last_name": f"Load{order_id}", "name": f"Ada Load{order_id}", "address1": "1 Main St",
        "address2": "", "city": "Hangzhou", "province": "Zhejiang", "province_code": "ZJ", "country": "China",
        "country_code": "CN", "zip": "310000", "phone": None,
    }  # fmt: skip
    return {
        "id": order_id, "name": f"#{order_id}", "order_number": order_id, "email": f"load{order_id}@example.com",
        "phone": None, "created_at": stamp, "updated_at": stamp, "cancelled_at": None, "currency": "CNY",
        "financial_status": "paid", "fulfillment_status": None, "note": None, "tags": "",
        "subtotal_price": total, "total_line_items_price": total, "total_discounts": "0.00", "total_tax": "0.00",
        "total_price": total,
        "total_shipping_price_set": {
            "shop_money": {"amount": "0.00", "currency_code": "CNY"},
            "presentment_money": {"amount": "0.00", "currency_code": "CNY"},
        },
        "shipping_lines": [{"title": "Standard", "price": "0.00", "code": "STD"}],
        "customer": {"id": order_id, "first_name": "Ada", "last_name": f"Load{order_id}", "email": "a@example.com"},
        "shipping_address": address, "line_items": items, "refunds": [],
    }  # fmt: skip

"""The load run's tenants, through the services, run once by tests/load/run.py in the stack's database
(``manage.py shell -c "from tests.load import seed; seed.run(tenants=20, plan=…)"``).

Each tenant ``loadNN``: the demo's suppliers, products and source paths; an owner (merchant operator), a
finance user and two supplier users (the demo supplier, which sources most products, and a maker that alone
ships its own); a Shopify store with a webhook secret; ORDERS orders delivered as signed webhooks, which the
stack's worker routes into dispatches once it starts. Every login gets an API token. What the load users
need (hosts, logins, tokens, the store's webhook URL and secret, order ids) is written to the plan file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone
from django_tenants.utils import schema_context

from channels.models import Store
from channels.sandbox.generator import CATALOGUE
from channels.services import store_create
from channels.webhooks import webhook_receive
from erp.demo import DEMO_SUPPLIER, demo_catalog
from orders.models import Order
from suppliers.members import supplier_user_create
from suppliers.models import Supplier
from tenants.accounts.services import token_create, user_create
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.channels.fake_shopify import shopify_order

PASSWORD = "relay-load-2026"
ORDERS = 30
STORE = "Load Shopify"
STORE_URL = "https://load-shop.invalid"  # never resolves: orders arrive by webhook, pushes of shipments fail and retry
MAKER_SUPPLIER = "SZ-BRIGHTWAY"  # ships its own products only (erp.demo.MAKER_ONLY)


def slug_of(index: int) -> str:
    return f"load{index:02d}"


def sku_lines(number: int) -> list[tuple[str, int, str]]:
    """One to three catalogue lines for order ``number``, in CNY, always the same for the same number."""
    items = [item for item in CATALOGUE if "CNY" in item.prices]
    picked = [items[(number * 7 + k * 13) % len(items)] for k in range(1 + number % 3)]
    return [(item.sku, 1 + (number + k) % 2, f"{item.prices['CNY']:.2f}") for k, item in enumerate(picked)]


def webhook_body(order_id: int, *, at: dt.datetime) -> bytes:
    payload = shopify_order(order_id, updated_at=at, currency="CNY", lines=sku_lines(order_id), shipping="0.00")
    return json.dumps(payload).encode()


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def run(*, tenants: int, plan: str) -> None:
    entries = [_tenant(slug_of(i)) for i in range(1, tenants + 1)]
    skus = [(item.sku, f"{item.prices['CNY']:.2f}") for item in CATALOGUE if "CNY" in item.prices]
    Path(plan).write_text(json.dumps({"password": PASSWORD, "skus": skus, "tenants": entries}, indent=1))


def _tenant(slug: str) -> dict:
    owner = f"owner@{slug}.test"
    tenant = Tenant.objects.filter(slug=slug).first() or tenant_provision(
        slug=slug, name=f"Load {slug}", owner_email=owner, owner_password=PASSWORD
    )
    with schema_context(tenant.schema_name):
        demo_catalog()
        finance = f"finance@{slug}.test"
        if not User.objects.filter(username=finance).exists():
            user_create(email=finance, password=PASSWORD, role="finance", name="Load Finance")
        suppliers = []
        for code in (DEMO_SUPPLIER, MAKER_SUPPLIER):
            email = f"{code.lower()}@{slug}.test"
            if not User.objects.filter(username=email).exists():
                supplier_user_create(supplier=Supplier.objects.get(code=code), email=email, password=PASSWORD)
            suppliers.append({"email": email, "code": code})
        store = Store.objects.filter(name=STORE).first()
        secret = f"whsec-load-{secrets.token_hex(12)}"
        if store is None:
            store = store_create(
                name=STORE, channel="shopify", base_url=STORE_URL,
                credentials={"access_token": f"shpat_load_{secrets.token_hex(12)}", "webhook_secret": secret},
            )  # fmt: skip
            now = timezone.now()
            for n in range(1, ORDERS + 1):
                body = webhook_body(n, at=now - dt.timedelta(minutes=ORDERS - n))
                headers = {
                    "X-Shopify-Hmac-Sha256": signature(body, secret),
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Event-Id": f"seed-{n}",
                }
                webhook_receive(store=store, headers=headers, body=body)
        else:
            raise RuntimeError(f"{slug} was seeded before: the load run starts from a fresh database")
        tokens = {
            email: token_create(user=User.objects.get(username=email))
            for email in [owner, finance, *(s["email"] for s in suppliers)]
        }
        orders = list(Order.objects.filter(store=store).order_by("pk").values_list("pk", flat=True))
        return {
            "slug": slug,
            "schema": tenant.schema_name,
            "host": tenant.domains.first().domain,
            "merchant": owner,
            "finance": finance,
            "suppliers": suppliers,
            "tokens": tokens,
            "webhook": f"/webhooks/{store.webhook_token}/",
            "webhook_secret": secret,
            "store_id": store.pk,
            "orders": orders,
        }

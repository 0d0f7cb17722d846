"""Demo data for `make run`. Each step checks before it writes, so it runs any number of times.

Project configuration, on top of every app: it seeds channels, suppliers and
inventory through their services.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User

from channels.models import Store
from channels.sandbox.generator import CATALOGUE, RATES
from channels.services import store_create
from core.money import round_money
from inventory.models import Product
from inventory.services import product_create
from suppliers.members import supplier_user_create
from suppliers.models import Supplier
from tenants.accounts.services import user_create

# The sandbox shop's vendors, as the demo tenant's suppliers (code, name).
DEMO_SUPPLIERS = {
    "Hangzhou Textile": ("HZ-TEXTILE", "杭州织造 Hangzhou Textile Co."),
    "Jingdezhen Ceramics": ("JDZ-CERAMICS", "景德镇陶瓷 Jingdezhen Ceramics"),
    "West Lake Tea": ("WL-TEA", "西湖茶业 West Lake Tea"),
    "Anji Bamboo Works": ("AJ-BAMBOO", "安吉竹艺 Anji Bamboo Works"),
    "Yongkang Metalware": ("YK-METAL", "永康五金 Yongkang Metalware"),
    "Yiwu Paper Co.": ("YW-PAPER", "义乌纸品 Yiwu Paper Co."),
    "Ningbo Outdoor": ("NB-OUTDOOR", "宁波户外 Ningbo Outdoor"),
    "Shenzhen Brightway": ("SZ-BRIGHTWAY", "深圳明途电子 Shenzhen Brightway"),
}


def demo_catalog() -> None:
    """A product per sandbox SKU, sourced first from its vendor (cost in CNY, untracked stock),
    then from the own warehouse for US and GB buyers (tracked stock), so `make run` routes orders."""
    suppliers = {}
    for vendor, (code, name) in DEMO_SUPPLIERS.items():
        suppliers[vendor], _created = Supplier.objects.get_or_create(
            code=code, defaults={"name": name, "contact_email": f"orders@{code.lower()}.example"}
        )
    known = set(Product.objects.values_list("sku", flat=True))
    for item in CATALOGUE:
        if item.sku in known or item.vendor not in suppliers:
            continue
        usd = item.prices["USD"]
        product_create(
            sku=item.sku,
            name=item.name,
            weight_grams=item.grams,
            sources=[
                {
                    "supplier": suppliers[item.vendor],
                    "cost_price": round_money(usd * RATES["CNY"] * Decimal("0.35"), "CNY"),
                    "currency": "CNY",
                    "lead_time_days": 3,
                },
                {
                    "supplier": None,
                    "cost_price": round_money(usd * Decimal("0.55"), "USD"),
                    "currency": "USD",
                    "regions": [{"country": "US"}, {"country": "GB"}],
                    "lead_time_days": 1,
                    "on_hand": 40,
                },
            ],
        )


def demo_populate(*, password: str) -> None:
    supplier, _created = Supplier.objects.get_or_create(
        code="HZ-TEXTILE",
        defaults={"name": "杭州织造 Hangzhou Textile Co.", "contact_email": "supplier@demo.test"},
    )
    if not User.objects.filter(username="finance@demo.test").exists():
        user_create(email="finance@demo.test", password=password, role="finance", name="Demo Finance")
    if not User.objects.filter(username="supplier@demo.test").exists():
        supplier_user_create(supplier=supplier, email="supplier@demo.test", password=password, name="Demo Supplier")
    if not Store.objects.filter(name="Sandbox Shop").exists():
        # The local Shopify-compatible shop of `make run` (manage.py run_sandbox_shop).
        store_create(
            name="Sandbox Shop",
            channel="sandbox",
            base_url="http://127.0.0.1:8765",
            credentials={"access_token": "sandbox-token"},
            sync_interval_minutes=1,
        )
    if not Store.objects.filter(name="Offline orders").exists():
        store_create(name="Offline orders", channel="spreadsheet")
    demo_catalog()

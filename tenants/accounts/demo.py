"""Demo data for `make run`. Each step checks before it writes, so it runs any number of times."""

from django.contrib.auth.models import User

from channels.models import Store
from channels.services import store_create
from suppliers.models import Supplier
from tenants.accounts.services import user_create


def demo_populate(*, password: str) -> None:
    supplier, _created = Supplier.objects.get_or_create(
        code="HZ-TEXTILE",
        defaults={"name": "杭州织造 Hangzhou Textile Co.", "contact_email": "supplier@demo.test"},
    )
    if not User.objects.filter(username="finance@demo.test").exists():
        user_create(email="finance@demo.test", password=password, role="finance", name="Demo Finance")
    if not User.objects.filter(username="supplier@demo.test").exists():
        user_create(
            email="supplier@demo.test", password=password, role="supplier", name="Demo Supplier", supplier=supplier
        )
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

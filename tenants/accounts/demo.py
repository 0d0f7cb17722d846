"""Demo data for `make run`. Each step checks before it writes, so it runs any number of times."""

from django.contrib.auth.models import User

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

"""The demo tenant of `make run` (erp.demo, manage.py provision_demo)."""

from django.contrib.auth.models import User
from django.core.management import call_command

from channels.sandbox.generator import CATALOGUE
from inventory.models import Product, Source
from suppliers.members import supplier_of
from tenants.models import Tenant
from tests.conftest import in_tenant


def test_demo_provisioning_is_idempotent(db):
    call_command("provision_demo")
    call_command("provision_demo")

    demo = Tenant.objects.get(slug="demo")
    with in_tenant(demo):
        roles = sorted(User.objects.values_list("email", "profile__role"))
        supplier = supplier_of(user=User.objects.get(email="supplier@demo.test"))
    assert roles == [
        ("finance@demo.test", "finance"),
        ("merchant@demo.test", "owner"),
        ("supplier@demo.test", "supplier"),
    ]
    assert supplier.code == "HZ-TEXTILE"
    with in_tenant(demo):
        # every sandbox SKU is a product with its vendor first and the own warehouse second, once
        assert Product.objects.count() == len(CATALOGUE)
        assert Source.objects.filter(position=1, supplier__isnull=False).count() == len(CATALOGUE)
        assert Source.objects.filter(position=2, supplier__isnull=True, stock__on_hand=40).count() == len(CATALOGUE)

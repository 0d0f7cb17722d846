"""The demo tenant of `make run`. Idempotent: a second run keeps the data."""

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from erp.demo import demo_populate
from tenants.models import Tenant
from tenants.services import tenant_provision

DEMO_PASSWORD = "relay-demo-2026"  # development only, documented in README


class Command(BaseCommand):
    help = "Provision the demo tenant (demo.localhost) with its three demo logins."

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            tenant = tenant_provision(
                slug="demo",
                name="Demo Trading Co.",
                domain="demo.localhost",
                owner_email="merchant@demo.test",
                owner_password=DEMO_PASSWORD,
            )
            self.stdout.write("demo tenant provisioned")
        with schema_context(tenant.schema_name):
            demo_populate(password=DEMO_PASSWORD)

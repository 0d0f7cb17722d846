"""The demo tenant of `make run`. Idempotent: a second run keeps the data."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from erp.demo import demo_populate
from tenants.models import Tenant
from tenants.services import tenant_provision

DEMO_PASSWORD = "relay-demo-2026"  # development only, documented in README
# The state file `manage.py run_sandbox_shop` serves by default: the demo's sandbox orders are that shop's.
SANDBOX_STATE = Path(settings.BASE_DIR) / "var" / "sandbox" / "shop.json"


class Command(BaseCommand):
    help = "Provision the demo tenant (demo.localhost) with its three demo logins and three days of orders."

    def add_arguments(self, parser):
        parser.add_argument(
            "--sandbox-state",
            default=str(SANDBOX_STATE),
            help="the sandbox shop's state file (run_sandbox_shop --state); its orders become the demo's",
        )

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
            demo_populate(password=DEMO_PASSWORD, sandbox_state=Path(options["sandbox_state"]))

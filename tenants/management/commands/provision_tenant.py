import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.services import tenant_provision


class Command(BaseCommand):
    help = "Provision a tenant: schema (cloned from the template), domain and owner user."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", help="host name; default <slug>.<RELAY_BASE_DOMAIN>")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", required=True)
        parser.add_argument("--time-zone", default="Asia/Shanghai")
        parser.add_argument("--currency", default="CNY")

    def handle(self, *args, **o):
        started = time.perf_counter()
        try:
            tenant = tenant_provision(
                slug=o["slug"],
                name=o["name"],
                domain=o["domain"],
                owner_email=o["owner_email"],
                owner_password=o["owner_password"],
                time_zone=o["time_zone"],
                default_currency=o["currency"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"provisioned {tenant.slug} at http://{tenant.get_primary_domain().domain} "
            f"in {time.perf_counter() - started:.2f}s"
        )

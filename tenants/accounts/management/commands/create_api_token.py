from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.accounts.services import normalise_email, token_create
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create (or replace) the API token of a user of a tenant; prints the key once."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--email", required=True)

    def handle(self, *args, **o):
        tenant = Tenant.objects.filter(slug=o["tenant"], is_template=False).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {o['tenant']!r}")
        with schema_context(tenant.schema_name):
            user = User.objects.filter(username=normalise_email(o["email"])).first()
            if user is None:
                raise CommandError(f"no user {o['email']!r} in tenant {tenant.slug}")
            self.stdout.write(token_create(user=user))

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from channels.services import rotate_store_credentials
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Re-encrypt every store's credentials, in every tenant, with the first key of RELAY_FERNET_KEYS."

    def handle(self, *args, **options):
        total = 0
        for schema in Tenant.objects.values_list("schema_name", flat=True):
            with schema_context(schema):
                total += rotate_store_credentials()
        self.stdout.write(f"re-encrypted the credentials of {total} stores")

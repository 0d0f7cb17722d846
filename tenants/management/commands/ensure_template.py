from django.core.management.base import BaseCommand

from tenants.services import template_ensure


class Command(BaseCommand):
    help = "Create the template schema that new tenants are cloned from, or migrate it if it lags behind."

    def handle(self, *args, **options):
        template = template_ensure()
        if options["verbosity"]:
            self.stdout.write(f"template schema {template.schema_name} is ready")

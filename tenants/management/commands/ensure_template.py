from django.core.management.base import BaseCommand

from tenants.schema_script import schema_script_for
from tenants.services import template_ensure


class Command(BaseCommand):
    help = (
        "Create the template schema that new tenants are copied from, or migrate it if it lags behind; and make "
        "its schema script now, so the first provisioning after a deploy does not pay for it."
    )

    def handle(self, *args, **options):
        template = template_ensure()
        key, _script = schema_script_for(template=template.schema_name, kept=True)
        if options["verbosity"]:
            self.stdout.write(f"template schema {template.schema_name} is ready (schema script {key})")

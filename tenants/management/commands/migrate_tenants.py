import os
import time

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.schema_migrations import schemas_migrate
from tenants.schema_script import schema_script_for


class Command(BaseCommand):
    help = (
        "Migrate every tenant schema (template first) that misses a migration; schemas with nothing pending are "
        "found in a few queries and not touched. Run `migrate_schemas --shared` before it. Exits non-zero, "
        "naming them, if any schema fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="processes migrating schemas at once (default: CPUs, at most 4)",
        )
        parser.add_argument("--schema", action="append", dest="schemas", help="only this schema (repeatable)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        verbosity = options["verbosity"]

        def progress(schema: str, error: str | None) -> None:
            if error is not None:
                self.stderr.write(f"{schema}: FAILED: {error}")
            elif verbosity >= 2:
                self.stdout.write(f"{schema}: migrated")

        run = schemas_migrate(
            schemas=options["schemas"],
            workers=options["workers"],
            verbosity=max(verbosity - 1, 0),
            progress=progress,
        )
        if verbosity:
            self.stdout.write(
                f"{run.checked} tenant schemas checked in {run.check_seconds:.2f}s: {len(run.pending)} pending, "
                f"{len(run.migrated)} migrated, {len(run.failed)} failed ({time.perf_counter() - started:.2f}s)"
            )
        template = Tenant.objects.filter(is_template=True).values_list("schema_name", flat=True).first()
        if template in run.migrated:
            # the next provisioning finds the script of the template's new state ready
            schema_script_for(template=template, kept=True)
        if run.failed:
            raise CommandError(f"migration failed in {len(run.failed)} schema(s): " + ", ".join(sorted(run.failed)))

"""Provisioning: a tenant is a schema cloned from the template, a domain and an owner."""

from __future__ import annotations

import logging
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from tenants.models import RESERVED_SLUGS, SLUG_VALIDATOR, Domain, Tenant

logger = logging.getLogger(__name__)

TEMPLATE_SLUG = "template"


def schema_name_for(slug: str) -> str:
    return "t_" + re.sub(r"[^a-z0-9]", "_", slug)


def default_domain_for(slug: str) -> str:
    return f"{slug}.{settings.RELAY_BASE_DOMAIN}"


def tenant_slug_validate(slug: str) -> None:
    """Raise ValidationError (with a message for the person) if ``slug`` cannot be used."""
    SLUG_VALIDATOR(slug)
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved. Please choose another name.") % {"slug": slug})
    if Tenant.objects.filter(slug=slug).exists() or schema_exists(schema_name_for(slug)):
        raise ValidationError(_("“%(slug)s” is already taken.") % {"slug": slug})


def template_ensure() -> Tenant:
    """The template tenant exists and its schema has every tenant migration applied.

    migrate_schemas keeps it current like any tenant; this also covers a
    database where it was never created.
    """
    template, _created = Tenant.objects.get_or_create(
        schema_name=settings.TENANT_BASE_SCHEMA,
        defaults={"name": "Tenant template", "slug": TEMPLATE_SLUG, "is_template": True},
    )
    if not schema_exists(template.schema_name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template.schema_name}"')
        call_command("migrate_schemas", schema_name=template.schema_name, interactive=False, verbosity=0)
    return template


def _schema_is_current() -> bool:
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def tenant_provision(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str,
    domain: str | None = None,
    time_zone: str = "Asia/Shanghai",
    default_currency: str = "CNY",
) -> Tenant:
    """Create a tenant: schema (cloned from the template), domain and owner user.

    All or nothing: the schema, rows and owner are created in one transaction.
    Raises ValidationError for an unusable slug, domain or owner.
    """
    from tenants.accounts.services import user_create

    started = time.perf_counter()
    tenant_slug_validate(slug)
    host = (domain or default_domain_for(slug)).lower()
    if Domain.objects.filter(domain=host).exists():
        raise ValidationError(_("The host %(host)s is already in use.") % {"host": host})
    template = template_ensure()

    with transaction.atomic():
        tenant = Tenant.objects.create(
            schema_name=schema_name_for(slug),
            slug=slug,
            name=name,
            time_zone=time_zone,
            default_currency=default_currency,
        )
        Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
        CloneSchema().clone_schema(template.schema_name, tenant.schema_name, "DATA")
        with schema_context(tenant.schema_name):
            if not _schema_is_current():
                # The template lagged behind the code: finish the job here.
                call_command("migrate_schemas", schema_name=tenant.schema_name, interactive=False, verbosity=0)
            user_create(email=owner_email, password=owner_password, role="owner", name=name)
    logger.info(
        "tenant provisioned",
        extra={"slug": slug, "schema": tenant.schema_name, "seconds": round(time.perf_counter() - started, 3)},
    )
    return tenant


def tenant_set_status(*, tenant: Tenant, status: str) -> Tenant:
    if status not in Tenant.Status.values:
        raise ValidationError(_("Unknown status %(status)s.") % {"status": status})
    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    tenant.status = status
    return tenant

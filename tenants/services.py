"""Provisioning: a tenant is a schema copied from the template (a replayed DDL script), a domain and an owner."""

from __future__ import annotations

import logging
import re
import time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.accounts.services import user_create
from tenants.models import RESERVED_SLUGS, SLUG_VALIDATOR, Domain, Tenant, TenantEvent
from tenants.schema_migrations import schemas_pending
from tenants.schema_script import schema_create_from_template, schema_script_for

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


def _schema_is_current() -> bool:
    """Whether the schema on the connection has every migration of the code applied."""
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def template_ensure() -> Tenant:
    """The template tenant exists and its schema has every tenant migration applied.

    migrate_schemas keeps it current like any tenant; this also covers a
    database where it was never created, or a template that lags behind the
    code. Migrations take locks and time: call this outside any transaction.
    """
    template, _created = Tenant.objects.get_or_create(
        schema_name=settings.TENANT_BASE_SCHEMA,
        defaults={"name": "Tenant template", "slug": TEMPLATE_SLUG, "is_template": True},
    )
    if not schema_exists(template.schema_name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template.schema_name}"')
        current = False
    else:
        # One query against the migration files' names; the executor only when that check is not sure.
        current = not schemas_pending([template.schema_name])
        if not current:
            with schema_context(template.schema_name):
                current = _schema_is_current()
    if not current:
        logger.info("migrating the tenant template", extra={"schema": template.schema_name})
        call_command("migrate_schemas", schema_name=template.schema_name, interactive=False, verbosity=0)
    return template


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
    """Create a tenant: schema (a copy of the template), domain and owner user.

    Any migration runs first, on the template and outside the transaction
    (template_ensure), and so does the generation of the template's schema
    script when this migration state has none yet (tenants.schema_script);
    then tenant row, domain, schema (the script replayed, one round trip) and
    owner are created in one transaction: all or nothing, a failure after the
    schema leaves no row, domain or schema behind. The time taken does not
    depend on how many tenants exist. Raises ValidationError for an unusable
    slug, domain or owner.
    """
    started = time.perf_counter()
    tenant_slug_validate(slug)
    host = (domain or default_domain_for(slug)).lower()
    if Domain.objects.filter(domain=host).exists():
        raise ValidationError(_("The host %(host)s is already in use.") % {"host": host})
    template = template_ensure()
    _key, script = schema_script_for(template=template.schema_name)

    with transaction.atomic():
        tenant = Tenant.objects.create(
            schema_name=schema_name_for(slug),
            slug=slug,
            name=name,
            time_zone=time_zone,
            default_currency=default_currency,
        )
        Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
        # PostgreSQL DDL is transactional: a rollback drops the new schema too.
        schema_started = time.perf_counter()
        schema_create_from_template(schema=tenant.schema_name, template=template.schema_name, script=script)
        schema_seconds = time.perf_counter() - schema_started
        with schema_context(tenant.schema_name):
            user_create(email=owner_email, password=owner_password, role="owner", name=name)
    logger.info(
        "tenant provisioned",
        extra={
            "slug": slug,
            "schema": tenant.schema_name,
            "seconds": round(time.perf_counter() - started, 3),
            "schema_seconds": round(schema_seconds, 3),
        },
    )
    return tenant


# The moves a tenant's status may make; anything else (including staying put) is refused.
TENANT_MOVES: dict[str, frozenset[str]] = {
    Tenant.Status.ACTIVE: frozenset({Tenant.Status.SUSPENDED}),
    Tenant.Status.SUSPENDED: frozenset({Tenant.Status.ACTIVE}),
}


def tenant_set_status(
    *, tenant: Tenant, status: str, actor: User | None = None, actor_label: str = "", reason: str = ""
) -> TenantEvent:
    """Move a tenant to ``status`` and record the move as a TenantEvent.

    ``actor`` is the platform operator (a public-schema user) or None for a
    command or task; ``actor_label`` names the actor when there is no user
    (default "system"). Locks the tenant row, so two operators moving the
    same tenant are serialised. Works from any schema: tenants live in the
    public one. Raises ValidationError, and writes nothing, for an unknown
    status, the template, or a move that is not allowed (e.g. suspending a
    suspended tenant). ``tenant.status`` is updated in place.
    """
    if status not in Tenant.Status.values:
        raise ValidationError(_("Unknown status %(status)s.") % {"status": status})
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.is_template:
            raise ValidationError(_("The tenant template has no status to change."))
        if status == locked.status:
            raise ValidationError(
                _("%(tenant)s is already %(status)s.")
                % {"tenant": locked.name, "status": locked.get_status_display().lower()}
            )
        if status not in TENANT_MOVES[locked.status]:
            raise ValidationError(
                _("%(tenant)s cannot move from %(current)s to %(status)s.")
                % {"tenant": locked.name, "current": locked.status, "status": status}
            )
        previous = locked.status
        locked.status = status
        locked.save(update_fields=["status"])
        event = TenantEvent.objects.create(
            tenant=locked,
            from_status=previous,
            to_status=status,
            actor=actor,
            actor_label=(actor.get_username() if actor is not None else actor_label or "system")[:200],
            reason=reason[:500],
        )
    tenant.status = status
    logger.info("tenant status changed", extra={"slug": locked.slug, "from": previous, "to": status})
    return event

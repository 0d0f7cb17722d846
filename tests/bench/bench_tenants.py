"""tenant.provision: seconds to provision one tenant (schema, domain, owner).

Baseline in the same run: the same tenant (rows, schema, owner) created the
naive way, by running every tenant migration into an empty schema.
"""

from __future__ import annotations

import statistics
import sys
import time

from tests.bench.run import figures

ROUNDS = 5


def _drop(slug: str) -> None:
    from django.db import connection

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=slug).first()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "t_{slug.replace("-", "_")}" CASCADE')
    if tenant:
        tenant.domains.all().delete()
        tenant.delete()


@figures("tenant.provision")
def bench_tenant_provision():
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.accounts.services import user_create
    from tenants.models import Domain, Tenant
    from tenants.services import tenant_provision

    clone_times, migrate_times = [], []
    for i in range(ROUNDS):
        slug = f"bench-{i}"
        _drop(slug)
        started = time.perf_counter()
        tenant_provision(
            slug=slug, name=f"Bench {i}", owner_email=f"o{i}@bench.test", owner_password="bench-password-2026"
        )
        clone_times.append(time.perf_counter() - started)
        _drop(slug)

        slug = f"naive-{i}"
        _drop(slug)
        started = time.perf_counter()
        tenant = Tenant.objects.create(schema_name=f"t_naive_{i}", slug=slug, name=f"Naive {i}")
        Domain.objects.create(domain=f"{slug}.localhost", tenant=tenant)
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "t_naive_{i}"')
        call_command("migrate_schemas", schema_name=f"t_naive_{i}", verbosity=0, stdout=sys.stderr)
        with schema_context(f"t_naive_{i}"):
            user_create(email=f"o{i}@naive.test", password="bench-password-2026", role="owner")
        migrate_times.append(time.perf_counter() - started)
        _drop(slug)
    return [
        {
            "name": "tenant.provision",
            "value": round(statistics.median(clone_times), 3),
            "unit": "s",
            "baseline": round(statistics.median(migrate_times), 3),
            "baseline_name": "migrate every app",
            "rounds": ROUNDS,
        }
    ]

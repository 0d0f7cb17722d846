"""The one periodic dispatcher, and the tenant heartbeat.

``dispatch_periodic``: beat calls it once a minute; it fans periodic work out
per active tenant (each app's periodic task names are listed in
PERIODIC_TENANT_TASKS). It is project configuration: it reads the tenants and
names tasks of every app.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from core.tasks import platform_task, tenant_task
from erp.celery import app
from tenants.models import Tenant

# Names of tenant tasks that beat's dispatcher runs for every active tenant, every minute. Each one decides
# what is due itself: the stores whose sync interval has passed; the suppliers' daily digest, once a day
# after its hour in the tenant's time zone; fulfillment pushes whose task was lost.
PERIODIC_TENANT_TASKS: list[str] = [
    "erp.tasks.tenant_heartbeat",
    "channels.sync_due_stores",
    "suppliers.send_due_digests",
    "channels.sweep_fulfillments",
    "orders.sweep_unrouted",
]


@platform_task(name="erp.tasks.dispatch_periodic")
def dispatch_periodic() -> int:
    """Fan periodic work out to every active tenant; returns how many tasks were sent."""
    sent = 0
    for schema in Tenant.objects.filter(status=Tenant.Status.ACTIVE, is_template=False).values_list(
        "schema_name", flat=True
    ):
        with schema_context(schema):
            for name in PERIODIC_TENANT_TASKS:
                app.send_task(name, headers={"_schema_name": schema})
                sent += 1
    return sent


@tenant_task(name="erp.tasks.tenant_heartbeat")
def tenant_heartbeat() -> str:
    """Records that periodic work reaches this tenant (shown on /healthz of the tenant later)."""
    now = timezone.now().isoformat()
    cache.set("heartbeat", now, timeout=None)
    return now

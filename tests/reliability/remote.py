"""Set-up run inside the stack (``manage.py shell -c``, the stack's settings and database), through the services.

Each function prints one JSON line the test reads back (``run_remote`` in conftest).
"""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import schema_context

from channels.models import Store
from channels.services import store_create
from core import spreadsheets
from settlement.exports import export_start
from settlement.models import Statement
from settlement.periods import month_of, period_for, previous_month, tenant_time_zone
from suppliers.models import Dispatch, Supplier
from suppliers.tracking_upload import COLUMNS
from suppliers.tracking_upload_jobs import INLINE_ROWS, tracking_upload_submit
from tenants.models import Tenant

WEBHOOK_SECRET = "fault-webhook-secret"  # made up for the test shop


def _store(name: str, **values) -> Store:
    return Store.objects.filter(name=name).first() or store_create(name=name, **values)


def setup(*, shop_urls: dict[str, str]) -> None:
    """Demo tenant: one sandbox store per fault shop (base URL through its proxy) and a Shopify store that receives
    webhooks. Ledger tenant: last month's period, open."""
    demo, ledger = Tenant.objects.get(slug="demo"), Tenant.objects.get(slug="ledger")
    out: dict = {"demo_schema": demo.schema_name, "ledger_schema": ledger.schema_name, "stores": {}}
    with schema_context(demo.schema_name):
        for name, url in shop_urls.items():
            store = _store(name, channel="sandbox", base_url=url, credentials={"access_token": "sandbox-token"},
                           sync_interval_minutes=600)  # fmt: skip
            out["stores"][name] = store.pk
        hooks = _store(
            "Fault webhooks", channel="shopify", base_url="https://fault-webhooks.myshopify.com",
            credentials={"access_token": "shpat_fault_0123456789", "webhook_secret": WEBHOOK_SECRET},
        )  # fmt: skip
        out["webhook_token"] = hooks.webhook_token
        out["webhook_store"] = hooks.pk
    with schema_context(ledger.schema_name):
        tz = tenant_time_zone()
        out["ledger_period"] = period_for(month=previous_month(month_of(timezone.now(), tz=tz))).pk
    print(json.dumps(out))


def start_export(*, statement_id: int) -> None:
    """A CSV export of one ledger statement, asked for by the ledger's finance user (its task is sent on commit)."""
    ledger = Tenant.objects.get(slug="ledger")
    with schema_context(ledger.schema_name):
        statement = Statement.objects.get(pk=statement_id)
        export = export_start(
            kind="statement", file_format="csv", params={}, user=User.objects.get(username="finance@ledger.test"),
            statement=statement,
        )  # fmt: skip
        print(json.dumps({"export": export.pk, "path": export.path, "total_rows": export.total_rows}))


def start_tracking_upload(*, count: int) -> None:
    """A tracking file for ``count`` (more than INLINE_ROWS) of one demo supplier's open dispatches, submitted as
    its supplier would: queued as a job (its task is sent on commit)."""
    demo = Tenant.objects.get(slug="demo")
    with schema_context(demo.schema_name):
        open_dispatches = Dispatch.objects.filter(status=Dispatch.Status.PENDING, supplier__active=True)
        supplier = Supplier.objects.get(
            pk=open_dispatches.values("supplier").order_by().annotate(n=Count("id")).order_by("-n")[0]["supplier"]
        )
        dispatches = list(open_dispatches.filter(supplier=supplier).order_by("pk")[:count])
        assert len(dispatches) > INLINE_ROWS, len(dispatches)
        rows = [
            {"dispatch": d.number, "carrier": "sf", "tracking_number": f"SF{1_480_000_000_000 + d.pk * 7_919:013d}"}
            for d in dispatches
        ]
        content = spreadsheets.template_csv(columns=COLUMNS, rows=rows)
        submitted = tracking_upload_submit(supplier=supplier, content=content, filename="tracking.csv")
        print(json.dumps({"job": submitted.job["id"], "dispatches": [d.pk for d in dispatches]}))

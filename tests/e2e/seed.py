"""What the journeys need beyond `manage.py provision_demo`, through the services, run once by the stack
(``manage.py shell -c "from tests.e2e import seed; seed.run(sandbox_url=…)"``).

- The demo's sandbox store pulls from (and pushes to) this stack's sandbox shop, on its own port.
- A second tenant, ``ledger`` (the demo's suppliers and catalog; a finance login and the demo supplier's login),
  whose last month has shipped orders and is still open: journey 4 closes it, journey 5 is refused on it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from django.contrib.auth.models import User
from django.utils import timezone
from django_tenants.utils import schema_context

from channels.adapters.spreadsheet import TEMPLATE_COLUMNS
from channels.imports import order_import_create, order_import_run
from channels.models import Store
from channels.services import store_create, store_update
from core import spreadsheets
from erp.demo import DEMO_SUPPLIER, DEMO_SUPPLIER_EMAIL, SANDBOX_STORE, demo_catalog
from orders.lifecycle import orders_ingested
from orders.models import Order
from settlement.periods import month_of, previous_month, tenant_time_zone
from suppliers.actions import dispatch_accept
from suppliers.members import supplier_user_create
from suppliers.models import Dispatch, Supplier
from suppliers.shipping import ParcelSpec, dispatch_ship
from tenants.accounts.services import user_create
from tenants.models import Tenant
from tenants.services import tenant_provision

PASSWORD = "relay-demo-2026"
LEDGER = "ledger"
LEDGER_OWNER = "owner@ledger.test"
LEDGER_FINANCE = "finance@ledger.test"
LEDGER_STORE = "Phone orders"
# Last month's orders of the ledger tenant: (day, order number, [(sku, quantity, unit price CNY)]).
LEDGER_ORDERS = (
    (3, "LG-01", (("TEE-BLK-M", 2, "99.00"), ("MUG-CER-350", 1, "59.00"))),
    (10, "LG-02", (("TEE-WHT-L", 3, "99.00"),)),
    (17, "LG-03", (("SOCK-MERINO-M", 4, "39.00"), ("HOODIE-GRY-M", 1, "199.00"))),
)


def run(*, sandbox_url: str) -> None:
    demo = Tenant.objects.get(slug="demo")
    with schema_context(demo.schema_name):
        store_update(store=Store.objects.get(name=SANDBOX_STORE), base_url=sandbox_url)
    ledger = Tenant.objects.filter(slug=LEDGER).first() or tenant_provision(
        slug=LEDGER, name="Ledger Trading", owner_email=LEDGER_OWNER, owner_password=PASSWORD
    )
    with schema_context(ledger.schema_name):
        _ledger_people()
        _ledger_last_month()


def _ledger_people() -> None:
    demo_catalog()  # the demo's suppliers, products and source paths (the demo supplier first)
    if not User.objects.filter(username=LEDGER_FINANCE).exists():
        user_create(email=LEDGER_FINANCE, password=PASSWORD, role="finance", name="Ledger Finance")
    if not User.objects.filter(username=DEMO_SUPPLIER_EMAIL).exists():
        supplier_user_create(
            supplier=Supplier.objects.get(code=DEMO_SUPPLIER), email=DEMO_SUPPLIER_EMAIL, password=PASSWORD
        )


def _ledger_last_month() -> None:
    """Orders imported, routed, accepted and shipped on their days of last month; the month is left open."""
    if Store.objects.filter(name=LEDGER_STORE).exists():
        return
    store = store_create(name=LEDGER_STORE, channel="spreadsheet")
    owner = User.objects.get(username=LEDGER_OWNER)
    tz = tenant_time_zone()
    month = previous_month(month_of(timezone.now(), tz=tz))
    for day, number, lines in LEDGER_ORDERS:
        placed = dt.datetime(month.year, month.month, day, 10, 30, tzinfo=tz)
        with time_machine.travel(placed + dt.timedelta(minutes=20), tick=False):
            rows = [
                {
                    "order_number": number,
                    "placed_at": placed.isoformat(timespec="minutes"),
                    "currency": "CNY",
                    "buyer_name": "Ledger Buyer",
                    "buyer_phone": "13800000000",
                    "country": "CN",
                    "city": "杭州市",
                    "address1": "人民路 1 号",
                    "postal_code": "310000",
                    "shipping": Decimal("0.00"),
                    "sku": sku,
                    "title": sku,
                    "quantity": quantity,
                    "unit_price": Decimal(price),
                }
                for sku, quantity, price in lines
            ]
            content = spreadsheets.template_csv(columns=TEMPLATE_COLUMNS, rows=rows)
            done = order_import_run(
                import_id=order_import_create(store=store, filename=f"{number}.csv", content=content, user=owner).pk
            )
            if done.errors:
                raise RuntimeError(f"the ledger's order {number} was refused: {done.errors}")
            ids = list(Order.objects.filter(store=store, order_number=number).values_list("pk", flat=True))
            orders_ingested(order_ids=ids)
        dispatches = Dispatch.objects.filter(lines__order_id__in=ids).exclude(supplier=None).distinct()
        with time_machine.travel(placed + dt.timedelta(hours=3), tick=False):
            for dispatch in dispatches.filter(status=Dispatch.Status.PENDING):
                dispatch_accept(dispatch=dispatch, supplier=dispatch.supplier, actor=None)
        with time_machine.travel(placed + dt.timedelta(hours=26), tick=False):
            for dispatch in dispatches.filter(status=Dispatch.Status.ACCEPTED):
                parcel = ParcelSpec("sf", f"SF{1_480_000_000_000 + dispatch.pk * 7_919:013d}")
                dispatch_ship(dispatch=dispatch, parcels=[parcel], supplier=dispatch.supplier)

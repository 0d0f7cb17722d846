"""The demo's last month, closed: orders sold and shipped through it, its statements issued, one confirmed, one
disputed, the demo supplier's waiting for its confirmation; and the sandbox shop's paid-out payouts imported
for reconciliation. Run once (nothing happens when last month is closed already), through the services.

So ``finance@demo.test`` finds a dispute to answer and payouts to reconcile, and ``supplier@demo.test`` a
statement to check and confirm.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import time_machine
from django.contrib.auth.models import User
from django.db import transaction

from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.spreadsheet import TEMPLATE_COLUMNS
from channels.imports import order_import_create, order_import_run
from channels.models import Store
from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import SANDBOX_TOKEN, make_server, serving
from core import spreadsheets
from core.outbound import outbound_client
from orders.lifecycle import orders_ingested
from orders.models import Order
from settlement.closing import period_close
from settlement.models import PayoutImport, Period, Statement
from settlement.payouts import payout_fetch_run
from settlement.periods import month_of, next_month, period_for, previous_month, tenant_time_zone
from settlement.statement_states import statement_confirm, statement_dispute, statement_issue
from suppliers.actions import dispatch_accept
from suppliers.models import Dispatch, Supplier
from suppliers.services import supplier_update
from suppliers.shipping import ParcelSpec, dispatch_ship

# Last month's phone and WeChat orders of the offline store: (day of the month, buyer, city, [(sku, qty)]).
LAST_MONTH_ORDERS = (
    (2, "赵敏", "杭州市", (("TEE-BLK-M", 3), ("SOCK-MERINO-M", 2))),
    (3, "孙丽", "上海市", (("LAMP-DESK-LED", 1),)),
    (5, "周杰", "南京市", (("HOODIE-GRY-L", 2),)),
    (7, "吴昊", "苏州市", (("YOGA-MAT-6MM", 2),)),
    (9, "郑爽", "宁波市", (("CHARGER-65W", 2), ("CABLE-USBC-1M", 3))),
    (11, "王磊", "广州市", (("SCARF-WOOL-GRY", 1), ("PILLOW-SILK-STD", 2))),
    (14, "冯婷", "深圳市", (("EARBUDS-WL", 1),)),
    (16, "陈晨", "成都市", (("YOGA-MAT-6MM", 1), ("TEE-WHT-L", 2))),
    (19, "褚云", "武汉市", (("POWERBANK-10K", 2),)),
    (22, "卫东", "西安市", (("TOWEL-LINEN", 4),)),
    (25, "蒋琳", "重庆市", (("LAMP-DESK-LED", 2),)),
    (27, "沈悦", "长沙市", (("BAG-CANVAS-NAT", 3), ("CAP-NAVY", 1))),
)
LATE_ORDER = 9  # shipped 60 hours after it was placed, 12 hours past its ship-by deadline
LATE_SHIP_PENALTY = {"SZ-BRIGHTWAY": Decimal("15.00")}
CONFIRMING = "NB-OUTDOOR"  # confirms its statement
DISPUTING = "SZ-BRIGHTWAY"  # disputes a line of its statement
DISPUTE_COMMENT = "台灯单价应为合同价，不是这个价格 (the desk lamp's unit price should be the contract price)"


def demo_last_month(*, now: dt.datetime, offline_store: str, merchant: User, finance: User) -> None:
    """Sell, ship, close and issue last month, once; the clock is set back to each step's moment."""
    tz = tenant_time_zone()
    month = previous_month(month_of(now, tz=tz))
    if Period.objects.filter(month=month, status=Period.Status.CLOSED).exists():
        return
    store = Store.objects.get(name=offline_store)
    with transaction.atomic():
        for code, penalty in LATE_SHIP_PENALTY.items():
            supplier_update(supplier=Supplier.objects.get(code=code), late_ship_penalty=penalty)
        for number, (day, buyer, city, lines) in enumerate(LAST_MONTH_ORDERS, start=1):
            placed = dt.datetime(month.year, month.month, day, 10, 30, tzinfo=tz)
            with time_machine.travel(placed + dt.timedelta(minutes=20), tick=False):
                ids = _order(
                    store=store,
                    merchant=merchant,
                    order_number=f"WX-{month:%Y%m}-{number:02d}",
                    buyer=buyer,
                    city=city,
                    lines=lines,
                    placed=placed,
                )
            dispatches = Dispatch.objects.filter(lines__order_id__in=ids).exclude(supplier=None).distinct()
            with time_machine.travel(placed + dt.timedelta(hours=3), tick=False):
                for dispatch in dispatches.filter(status=Dispatch.Status.PENDING):
                    dispatch_accept(dispatch=dispatch, supplier=dispatch.supplier, actor=_user_of(dispatch))
            # One of Shenzhen Brightway's shipments left after its deadline: its terms carry a penalty.
            ship_after = dt.timedelta(hours=60 if number == LATE_ORDER else 26)
            with time_machine.travel(placed + ship_after, tick=False):
                for dispatch in dispatches.filter(status=Dispatch.Status.ACCEPTED):
                    number_text = f"SF{1_470_000_000_000 + dispatch.pk * 7_919:013d}"
                    dispatch_ship(
                        dispatch=dispatch, parcels=[ParcelSpec("sf", number_text)], supplier=dispatch.supplier
                    )
        close_at = min(dt.datetime.combine(next_month(month), dt.time(9, 30), tzinfo=tz), now)
        with time_machine.travel(close_at, tick=False):
            period_close(period=period_for(month=month), actor=finance)
        with time_machine.travel(min(close_at + dt.timedelta(hours=1), now), tick=False):
            for statement in Statement.objects.filter(period__month=month, status=Statement.Status.DRAFT):
                statement_issue(statement=statement, actor=finance)
        with time_machine.travel(min(close_at + dt.timedelta(hours=5), now), tick=False):
            _supplier_answers(month)


def _order(*, store, merchant, order_number: str, buyer: str, city: str, lines, placed: dt.datetime) -> list[int]:
    """One order imported from the merchant's spreadsheet, then routed, as on the day."""
    rows = [
        {
            "order_number": order_number,
            "placed_at": placed.isoformat(timespec="minutes"),
            "currency": "CNY",
            "buyer_name": buyer,
            "buyer_phone": "13800000000",
            "country": "CN",
            "province": "",
            "city": city,
            "address1": "人民路 1 号",
            "postal_code": "100000",
            "shipping": Decimal("0.00"),
            "sku": sku,
            "title": sku,
            "quantity": quantity,
            "unit_price": Decimal("99.00"),
        }
        for sku, quantity in lines
    ]
    content = spreadsheets.template_csv(columns=TEMPLATE_COLUMNS, rows=rows)
    done = order_import_run(
        import_id=order_import_create(store=store, filename=f"{order_number}.csv", content=content, user=merchant).pk
    )
    if done.errors:
        raise RuntimeError(f"the demo's order {order_number} was refused: {done.errors}")
    ids = list(Order.objects.filter(store=store, order_number=order_number).values_list("pk", flat=True))
    orders_ingested(order_ids=ids)
    return ids


def _user_of(dispatch: Dispatch) -> User | None:
    """The supplier's own user where it has one (the demo supplier's), else the supplier without a login."""
    link = dispatch.supplier.users.select_related("user").first()
    return link.user if link else None


def _supplier_answers(month: dt.date) -> None:
    statements = Statement.objects.filter(period__month=month, status=Statement.Status.ISSUED).select_related(
        "supplier"
    )
    for statement in statements:
        code = statement.supplier.code
        if code == CONFIRMING:
            statement_confirm(statement=statement, supplier=statement.supplier, actor=None)
        elif code == DISPUTING:
            line = statement.lines.order_by("-amount").first()
            statement_dispute(
                statement=statement, supplier=statement.supplier, disputes=[(line.pk, DISPUTE_COMMENT)], actor=None
            )


# ------------------------------------------------------------------ the sandbox shop's payouts


def demo_sandbox_payouts(*, sandbox_state: Path, sandbox_store: str, seed: int, finance: User) -> None:
    """Import the sandbox shop's Shopify Payments payouts of the replayed days, once, through the adapter as
    *Fetch payouts* does. With the demo's seed one order is disputed (a chargeback): a difference to resolve."""
    store = Store.objects.get(name=sandbox_store)
    if PayoutImport.objects.filter(store=store).exists() or not sandbox_state.exists():
        return
    shop = SandboxShop(seed=seed, state_path=sandbox_state)
    # `make run` starts the shop on its own port later: here it is served on a free one for the import.
    # The shop this process just started is the one loopback address the client may reach, whatever the setting.
    with serving(make_server(shop, port=0)) as base_url, outbound_client(allow=[urlsplit(base_url).hostname]) as client:
        adapter = ShopifyAdapter(base_url=base_url, credentials={"access_token": SANDBOX_TOKEN}, client=client)
        state = payout_fetch_run(store=store, user=finance, adapter=adapter)
    if state["state"] != "done":
        raise RuntimeError(f"the demo's payouts could not be read from the sandbox shop: {state['message']}")

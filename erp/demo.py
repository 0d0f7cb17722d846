"""Demo data for `make run`. Each step checks before it writes, so it runs any number of times.

Project configuration, on top of every app: it seeds channels, suppliers,
inventory and orders through their services, never by writing rows itself.

The demo supplier (HZ-TEXTILE, the company of ``supplier@demo.test``) comes
first on the source path of most products. On the first run the demo also
replays the last three days of the merchant's business, each step at its own
time: the supplier's stock report, the sandbox shop's orders (ingested and
routed a minute after they were placed), a few phone orders imported from a
spreadsheet, and what the supplier did with its dispatches. So on first
login the supplier finds dispatches waiting (some past their accept-by
deadline), some accepted and waiting to ship (one past its ship-by), and a
history of shipped ones whose tracking the worker pushes to the sandbox shop.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from channels.adapters.base import Adapter
from channels.adapters.spreadsheet import TEMPLATE_COLUMNS
from channels.imports import order_import_create, order_import_run
from channels.ingest import prepare_page, write_page
from channels.models import Store
from channels.sandbox.generator import CATALOGUE, RATES, OrderFilter, SandboxShop
from channels.sandbox.server import INITIAL_SPREAD_SECONDS
from channels.services import adapter_for, store_create
from core import spreadsheets
from core.money import round_money
from erp.demo_settlement import demo_last_month, demo_sandbox_payouts
from inventory.models import Product, Source
from inventory.services import product_create, source_create, source_reorder
from inventory.supplier_stock import stock_report
from orders.lifecycle import dispatch_changed, orders_ingested
from orders.models import Order, RuleSet
from orders.routing.rulesets import rule_add, ruleset_activate, ruleset_draft_create
from suppliers.actions import dispatch_accept, dispatch_reject
from suppliers.members import supplier_user_create
from suppliers.models import Dispatch, Supplier
from suppliers.services import supplier_create
from suppliers.shipping import ParcelSpec, dispatch_ship
from tenants.accounts.services import user_create

DEMO_SUPPLIER = "HZ-TEXTILE"
DEMO_SUPPLIER_EMAIL = "supplier@demo.test"
MERCHANT_EMAIL = "merchant@demo.test"
SANDBOX_STORE = "Sandbox Shop"
OFFLINE_STORE = "Offline orders"
# What `manage.py run_sandbox_shop` starts with when its state file is new (its --seed and --initial-orders).
SANDBOX_SEED = 2026
SANDBOX_INITIAL_ORDERS = 60
HISTORY = dt.timedelta(seconds=INITIAL_SPREAD_SECONDS)  # the sandbox shop's first orders span this

# The sandbox shop's vendors, as the demo tenant's suppliers (code, name).
DEMO_SUPPLIERS = {
    "Hangzhou Textile": ("HZ-TEXTILE", "杭州织造 Hangzhou Textile Co."),
    "Jingdezhen Ceramics": ("JDZ-CERAMICS", "景德镇陶瓷 Jingdezhen Ceramics"),
    "West Lake Tea": ("WL-TEA", "西湖茶业 West Lake Tea"),
    "Anji Bamboo Works": ("AJ-BAMBOO", "安吉竹艺 Anji Bamboo Works"),
    "Yongkang Metalware": ("YK-METAL", "永康五金 Yongkang Metalware"),
    "Yiwu Paper Co.": ("YW-PAPER", "义乌纸品 Yiwu Paper Co."),
    "Ningbo Outdoor": ("NB-OUTDOOR", "宁波户外 Ningbo Outdoor"),
    "Shenzhen Brightway": ("SZ-BRIGHTWAY", "深圳明途电子 Shenzhen Brightway"),
}
# Terms of every demo supplier: accept within a day, ship within two.
TERMS = {"currency": "CNY", "payment_terms_days": 30, "accept_within_hours": 24, "ship_within_hours": 48}
# The demo supplier consolidates for the merchant: it sources every maker's products but these, which only
# their maker ships (electronics need its certificates, yoga mats its warehouse).
MAKER_ONLY = frozenset({"Shenzhen Brightway", "Ningbo Outdoor"})
# The regional partner of the region-first rule: a Guangzhou workshop that prints the organic tees (SKUs
# starting with REGIONAL_FAMILY) for buyers in South China; everywhere else the tees come from the demo supplier.
REGIONAL_SUPPLIER = ("GZ-COTTON", "广州棉语服饰 Guangzhou Cotton (South China)")
REGIONAL_FAMILY = "TEE-"
SOUTH_CHINA = ("广东省", "广西壮族自治区", "福建省", "海南省")
# The demo's active rule set (made as the replayed days begin, so their orders are routed by it):
# hold orders over this amount for review, and a 买赠 gift: buying merino socks adds a canvas tote.
HOLD_OVER = (Decimal("500.00"), "CNY")
GIFT_FOR, GIFT = "SOCK-MERINO-M", "BAG-CANVAS-NAT"
# The agent's price over the maker's.
AGENT_MARKUP = Decimal("1.08")
# What supplier@demo.test reported three days ago; the tea set is sold out, so those orders go to the maker.
DEMO_STOCK = {
    "TEE-BLK-S": 40,
    "TEE-BLK-M": 60,
    "TEE-BLK-L": 45,
    "TEE-WHT-M": 35,
    "TEE-WHT-L": 30,
    "HOODIE-GRY-M": 15,
    "HOODIE-GRY-L": 12,
    "SOCK-MERINO-M": 80,
    "SOCK-MERINO-L": 80,
    "MUG-CER-350": 24,
    "TEA-SET-4": 0,
}


# ------------------------------------------------------------------ the tenant's set-up


def _suppliers() -> dict[str, Supplier]:
    """The demo suppliers by vendor name, created with the demo's terms the first time."""
    existing = {s.code: s for s in Supplier.objects.filter(code__in=[code for code, _name in DEMO_SUPPLIERS.values()])}
    suppliers = {}
    for vendor, (code, name) in DEMO_SUPPLIERS.items():
        if code in existing:
            suppliers[vendor] = existing[code]
            continue
        contact = (
            {
                "contact_email": DEMO_SUPPLIER_EMAIL,
                "contact_name": "周敏 Zhou Min",
                "contact_phone": "+86 571 8761 2046",
            }
            if code == DEMO_SUPPLIER
            else {"contact_email": f"orders@{code.lower()}.example"}
        )
        suppliers[vendor] = supplier_create(name=name, code=code, **contact, **TERMS)
    return suppliers


def _maker_cost(usd: Decimal) -> Decimal:
    return round_money(usd * RATES["CNY"] * Decimal("0.35"), "CNY")


def demo_catalog() -> None:
    """A product per sandbox SKU. Its path: the demo supplier first (unless only the maker ships it), then the
    maker (when that is another supplier), both in CNY with untracked stock; last the own warehouse (tracked
    stock), so `make run` routes every order. The own warehouse names no region: under the demo's region-first
    rule only a source naming the buyer's province (the tees' South China partner) goes before path order."""
    suppliers = _suppliers()
    demo = suppliers["Hangzhou Textile"]
    known = {p.sku: p for p in Product.objects.all()}
    for item in CATALOGUE:
        if item.vendor not in suppliers:
            continue
        usd = item.prices["USD"]
        maker = suppliers[item.vendor]
        via_demo = item.vendor not in MAKER_ONLY and maker != demo
        product = known.get(item.sku)
        if product is not None:
            if via_demo and not product.sources.filter(supplier=demo).exists():
                _put_first(product, demo, round_money(_maker_cost(usd) * AGENT_MARKUP, "CNY"))
            continue
        sources = [{"supplier": maker, "cost_price": _maker_cost(usd), "currency": "CNY", "lead_time_days": 3}]
        if via_demo:
            agent = {"supplier": demo, "cost_price": round_money(_maker_cost(usd) * AGENT_MARKUP, "CNY")}
            sources.insert(0, {**agent, "currency": "CNY", "lead_time_days": 2})
        sources.append(
            {
                "supplier": None,
                "cost_price": round_money(usd * Decimal("0.55"), "USD"),
                "currency": "USD",
                "lead_time_days": 1,
                "on_hand": 40,
            }
        )
        product_create(sku=item.sku, name=item.name, weight_grams=item.grams, sources=sources)


def demo_regional_sources() -> None:
    """The tees' regional partner: a source serving South China, just before the own warehouse on each tee's
    path. Under the demo's region-first rule it ships the tees of South China buyers; path order elsewhere."""
    code, name = REGIONAL_SUPPLIER
    supplier = Supplier.objects.filter(code=code).first() or supplier_create(
        name=name, code=code, contact_email=f"orders@{code.lower()}.example", **TERMS
    )
    regions = [{"country": "CN", "province": province} for province in SOUTH_CHINA]
    for product in Product.objects.filter(sku__startswith=REGIONAL_FAMILY).order_by("sku"):
        if product.sources.filter(supplier=supplier).exists():
            continue
        usd = next(item.prices["USD"] for item in CATALOGUE if item.sku == product.sku)
        added = source_create(
            product=product, supplier=supplier, cost_price=_maker_cost(usd), currency="CNY", regions=regions,
            lead_time_days=2,
        )  # fmt: skip
        path = list(Source.objects.filter(product=product).exclude(pk=added.pk).order_by("position", "pk"))
        before_last = [s.pk for s in path[:-1]] if path and path[-1].supplier_id is None else [s.pk for s in path]
        rest = [s.pk for s in path if s.pk not in before_last]
        source_reorder(product=product, source_ids=[*before_last, added.pk, *rest])


def demo_rules(*, merchant: User, since: dt.datetime) -> RuleSet | None:
    """The demo's active rule set, made once (the merchant's own rule sets are never touched), as of ``since``:

    1. hold for review an order over HOLD_OVER (审单),
    2. a 买赠 gift: a canvas tote with merino socks, for orders placed from ``since`` on,
    3. region-first sourcing: a source naming the buyer's province first (the tees' South China partner).
    """
    if RuleSet.objects.exists():
        return None
    products = dict(Product.objects.filter(sku__in=[GIFT_FOR, GIFT]).values_list("sku", "pk"))
    limit, currency = HOLD_OVER
    with time_machine.travel(since, tick=False), transaction.atomic():
        draft = ruleset_draft_create(actor=merchant)
        rule_add(
            ruleset=draft, kind="hold", name=f"大额订单审单 Review orders over {limit} {currency}",
            params={"total_above": str(limit), "currency": currency}, actor=merchant,
        )  # fmt: skip
        rule_add(
            ruleset=draft, kind="gift", name="买袜送帆布袋 Free tote with merino socks",
            params={
                "product_id": products[GIFT_FOR], "min_quantity": 1, "gift_product_id": products[GIFT],
                "gift_quantity": 1, "per_order_cap": 1, "starts": since.isoformat(),
            },
            actor=merchant,
        )  # fmt: skip
        rule_add(
            ruleset=draft, kind="sourcing", name="就近发货 Region first (South China tees from Guangzhou)",
            params={"strategy": "region_first"}, actor=merchant,
        )  # fmt: skip
        return ruleset_activate(ruleset=draft, actor=merchant, note="Demo rules: review big orders, 买赠, region first")


def _put_first(product: Product, supplier: Supplier, cost: Decimal) -> None:
    """A demo made before the demo supplier sourced this product: add it, first on the path."""
    added = source_create(product=product, supplier=supplier, cost_price=cost, currency="CNY", lead_time_days=2)
    others = list(Source.objects.filter(product=product).exclude(pk=added.pk).order_by("position", "pk"))
    source_reorder(product=product, source_ids=[added.pk, *(s.pk for s in others)])


def demo_populate(*, password: str, sandbox_state: Path | None, now: dt.datetime | None = None) -> None:
    """The demo logins, stores and catalog; the first time also the last three days of business.

    ``sandbox_state`` is the sandbox shop's state file (the one `manage.py run_sandbox_shop` serves); the
    demo's sandbox orders are that shop's, made there when it has none yet. None leaves the shop out.
    """
    suppliers = _suppliers()
    if not User.objects.filter(username="finance@demo.test").exists():
        user_create(email="finance@demo.test", password=password, role="finance", name="Demo Finance")
    if not User.objects.filter(username=DEMO_SUPPLIER_EMAIL).exists():
        supplier_user_create(
            supplier=suppliers["Hangzhou Textile"], email=DEMO_SUPPLIER_EMAIL, password=password, name="Demo Supplier"
        )
    if not Store.objects.filter(name=SANDBOX_STORE).exists():
        # The local Shopify-compatible shop of `make run` (manage.py run_sandbox_shop).
        store_create(
            name=SANDBOX_STORE,
            channel="sandbox",
            base_url="http://127.0.0.1:8765",
            credentials={"access_token": "sandbox-token"},
            sync_interval_minutes=1,
        )
    if not Store.objects.filter(name=OFFLINE_STORE).exists():
        store_create(name=OFFLINE_STORE, channel="spreadsheet")
    demo_catalog()
    demo_regional_sources()
    now = now or timezone.now()
    # Before the replayed days, so their orders are routed (held, given gifts, sourced) by the rules.
    demo_rules(
        merchant=User.objects.get(username=MERCHANT_EMAIL),
        since=now.replace(second=0, microsecond=0) - HISTORY - _hours(3),
    )
    demo_history(sandbox_state=sandbox_state, now=now)
    merchant, finance = User.objects.get(username=MERCHANT_EMAIL), User.objects.get(username="finance@demo.test")
    demo_last_month(now=now, offline_store=OFFLINE_STORE, merchant=merchant, finance=finance)
    if sandbox_state is not None:
        demo_sandbox_payouts(
            sandbox_state=sandbox_state, sandbox_store=SANDBOX_STORE, seed=SANDBOX_SEED, finance=finance
        )


# ------------------------------------------------------------------ the last three days


@dataclass(frozen=True)
class PhoneOrder:
    """An order taken by phone and imported from a spreadsheet, ``hours_ago``; ``fate``: what the supplier did."""

    hours_ago: float
    buyer: str
    phone: str
    province: str
    city: str
    district: str
    address: str
    postal_code: str
    lines: tuple[tuple[str, int], ...]
    fate: str  # "pending" or "accepted"
    note: str = ""


PHONE_ORDERS = (
    # Accepted, never shipped: past its ship-by deadline.
    PhoneOrder(54, "王芳", "13905710001", "浙江省", "杭州市", "西湖区", "文三路 259 号 2 幢 801 室", "310012",
               (("TEE-BLK-M", 2), ("SOCK-MERINO-M", 1)), "accepted", "老客户，周末前送到"),
    # Still waiting for the supplier a day and more later: past their accept-by deadline.
    PhoneOrder(30, "李强", "13801650002", "上海市", "上海市", "徐汇区", "漕溪北路 88 号 1203 室", "200030",
               (("HOODIE-GRY-L", 1),), "pending"),
    PhoneOrder(29.5, "张伟", "13913820003", "江苏省", "南京市", "鼓楼区", "中山北路 30 号 6 楼", "210008",
               (("PILLOW-SILK-STD", 2), ("SILK-EYEMASK", 1)), "pending", "送礼，请勿放发票"),
    # Accepted this morning, to ship.
    PhoneOrder(9, "刘洋", "13760880004", "广东省", "深圳市", "南山区", "科技园南区 R2-B 栋 5 楼", "518057",
               (("TEA-LONGJING-100", 2),), "accepted"),
    PhoneOrder(3, "陈静", "13601100005", "北京市", "北京市", "朝阳区", "建国路 93 号万达广场 7 号楼 1502", "100022",
               (("MUG-CER-350", 4), ("CHOPSTICKS-5", 2)), "pending"),
    # A listing the merchant has not mapped yet: held in the holds queue until someone maps it.
    PhoneOrder(2, "赵敏", "13757120006", "浙江省", "杭州市", "上城区", "南山路 147 号 3 单元 402", "310002",
               (("TEA-GIFTBOX-MA", 1),), "pending", "中秋送客户"),
)  # fmt: skip
# Listings sold by phone that the catalog does not know (sku: title, CNY price).
UNMAPPED_LISTINGS = {"TEA-GIFTBOX-MA": ("中秋茶礼盒 Mid-Autumn tea gift box", Decimal("268.00"))}

_SHANGHAI = dt.timezone(dt.timedelta(hours=8))
_PRICES = {item.sku: item.prices["CNY"] for item in CATALOGUE} | {
    sku: price for sku, (_title, price) in UNMAPPED_LISTINGS.items()
}
_TITLES = {item.sku: item.name for item in CATALOGUE} | {
    sku: title for sku, (title, _price) in UNMAPPED_LISTINGS.items()
}
_VENDORS = {item.sku: item.vendor for item in CATALOGUE}


def _hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def demo_history(*, sandbox_state: Path | None, now: dt.datetime) -> None:
    """Replay the three days before ``now``, once: nothing happens when the demo supplier has dispatches."""
    supplier = Supplier.objects.get(code=DEMO_SUPPLIER)
    if Dispatch.objects.filter(supplier=supplier).exists():
        return
    history = _History(
        supplier=supplier,
        supplier_user=User.objects.get(username=DEMO_SUPPLIER_EMAIL),
        merchant=User.objects.get(username=MERCHANT_EMAIL),
        now=now.replace(second=0, microsecond=0),
    )
    history.plan(sandbox_orders=_sandbox_orders(sandbox_state, history.now) if sandbox_state else [])
    with transaction.atomic():  # all of it or, after a failure, none: the next run starts again
        history.run()


def _sandbox_orders(state_path: Path, now: dt.datetime) -> list[dict]:
    """The sandbox shop's orders placed in the replayed days, oldest first.

    A shop without orders gets the first orders `run_sandbox_shop` would make, saved to its state file, so
    the shop the demo's store pulls from later is the one whose orders the demo routed. Run that command
    after this one, not beside it: both write the state file.
    """
    state_path.parent.mkdir(parents=True, exist_ok=True)
    shop = SandboxShop(seed=SANDBOX_SEED, state_path=state_path)
    if len(shop) == 0:
        shop.generate(SANDBOX_INITIAL_ORDERS, spread_seconds=INITIAL_SPREAD_SECONDS)
    wanted = OrderFilter(created_at_min=now - HISTORY)
    orders, after = [], None
    while True:
        page = shop.page_orders(wanted, limit=250, after=after)
        orders.extend(page.orders)
        if not page.has_next:
            break
        after = (dt.datetime.fromisoformat(page.orders[-1]["updated_at"]), page.orders[-1]["id"])
    return sorted(orders, key=lambda order: (order["created_at"], order["id"]))


class _History:
    """Things that happened, each run at its own moment (the clock set back to it), in time order.

    Routing a step may schedule more steps: what the supplier later did with the dispatches it made.
    """

    def __init__(self, *, supplier: Supplier, supplier_user: User, merchant: User, now: dt.datetime):
        self.supplier = supplier
        self.supplier_user = supplier_user
        self.merchant = merchant
        self.now = now
        self.queue: list[tuple[dt.datetime, int, Callable[[dt.datetime], None]]] = []
        self.sequence = itertools.count()
        self.seen = 0  # the highest id of the demo supplier's dispatches given a fate
        self.shipped = 0
        self.adapter: Adapter | None = None  # the sandbox store's, made once: it only normalises here

    def at(self, moment: dt.datetime, step: Callable[[dt.datetime], None]) -> None:
        if moment <= self.now:
            heapq.heappush(self.queue, (moment, next(self.sequence), step))

    def plan(self, *, sandbox_orders: list[dict]) -> None:
        self.at(self.now - HISTORY - _hours(2), self.report_stock)
        for payload in sandbox_orders:
            placed = dt.datetime.fromisoformat(payload["created_at"])
            self.at(max(placed, self.now - HISTORY) + dt.timedelta(minutes=1), partial(self.pull, payload))
        for number, phone_order in enumerate(PHONE_ORDERS, start=1):
            self.at(self.now - _hours(phone_order.hours_ago), partial(self.phone, number, phone_order))

    def run(self) -> None:
        while self.queue:
            moment, _n, step = heapq.heappop(self.queue)
            with time_machine.travel(moment, tick=False):
                step(moment)

    # -------------------------------------------------------------- what happened

    def report_stock(self, moment: dt.datetime) -> None:
        stock_report(supplier=self.supplier, rows=list(DEMO_STOCK.items()), actor=self.supplier_user)

    def pull(self, payload: dict, moment: dt.datetime) -> None:
        """The store's sync a minute after the order was placed, and routing right after it."""
        store = Store.objects.get(name=SANDBOX_STORE)
        if self.adapter is None:
            self.adapter = adapter_for(store)
        write_page(store=store, page=prepare_page(store=store, adapter=self.adapter, payloads=[payload]))
        ids = Order.objects.filter(store=store, external_id=str(payload["id"])).values_list("pk", flat=True)
        orders_ingested(order_ids=list(ids))
        self.follow(moment, fate=None)

    def phone(self, number: int, phone_order: PhoneOrder, moment: dt.datetime) -> None:
        """The merchant imports a phone order from a spreadsheet; routing follows the import."""
        store = Store.objects.get(name=OFFLINE_STORE)
        order_number = f"TEL-{moment.astimezone(_SHANGHAI):%m%d}-{number:02d}"
        content = _phone_sheet(order_number, phone_order, placed=moment - dt.timedelta(minutes=20))
        done = order_import_run(
            import_id=order_import_create(
                store=store, filename=f"电话订单 {order_number}.csv", content=content, user=self.merchant
            ).pk
        )
        if done.errors:
            raise RuntimeError(f"the demo's phone order {order_number} was refused: {done.errors}")
        ids = Order.objects.filter(store=store, order_number=order_number).values_list("pk", flat=True)
        orders_ingested(order_ids=list(ids))
        self.follow(moment, fate=phone_order.fate)

    def follow(self, moment: dt.datetime, *, fate: str | None) -> None:
        """Give the demo supplier's new dispatches their fate: what it did with them, and when."""
        new = list(
            Dispatch.objects.filter(supplier=self.supplier, pk__gt=self.seen, status=Dispatch.Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for dispatch_id in new:
            self.seen = max(self.seen, dispatch_id)
            chosen = fate or self._fate_by_age(dispatch_id, age=self.now - moment)
            wait = _hours(2 + dispatch_id % 4)
            if chosen == "rejected":
                self.at(moment + wait, partial(self.reject, dispatch_id))
            elif chosen in ("accepted", "shipped"):
                self.at(moment + (_hours(1) if fate else wait), partial(self.accept, dispatch_id))
            if chosen == "shipped":
                self.at(moment + _hours(20 + dispatch_id % 6), partial(self.ship, dispatch_id))

    def _fate_by_age(self, dispatch_id: int, *, age: dt.timedelta) -> str:
        """Older than 30 hours: shipped (one in eight of those it could not take: out of stock); 20 to 30
        hours: accepted, to ship; younger: waiting for the supplier."""
        if age < _hours(20):
            return "pending"
        if age < _hours(30):
            return "accepted"
        self.shipped += 1
        return "rejected" if self.shipped % 8 == 3 and self._maker_next(dispatch_id) else "shipped"

    def _maker_next(self, dispatch_id: int) -> bool:
        """Whether every line's product has its maker next on the path, so a rejection routes it on."""
        skus = Dispatch.objects.get(pk=dispatch_id).lines.values_list("product__sku", flat=True)
        return all(_VENDORS.get(sku) not in (None, "Hangzhou Textile") for sku in skus)

    def accept(self, dispatch_id: int, moment: dt.datetime) -> None:
        dispatch = Dispatch.objects.get(pk=dispatch_id)
        if dispatch.status == Dispatch.Status.PENDING:  # not cancelled on the channel meanwhile
            promised = (moment + dt.timedelta(days=1)).astimezone(_SHANGHAI).date()
            dispatch_accept(
                dispatch=dispatch, actor=self.supplier_user, promised_ship_date=promised, supplier=self.supplier
            )

    def reject(self, dispatch_id: int, moment: dt.datetime) -> None:
        dispatch = Dispatch.objects.get(pk=dispatch_id)
        if dispatch.status == Dispatch.Status.PENDING:
            dispatch_reject(
                dispatch=dispatch,
                reason_code="out_of_stock",
                comment="工厂断货，下周补货 (sold out at the factory until next week)",
                actor=self.supplier_user,
                supplier=self.supplier,
            )
            dispatch_changed(dispatch_id=dispatch_id, actor=self.supplier_user)  # the worker, after the commit

    def ship(self, dispatch_id: int, moment: dt.datetime) -> None:
        dispatch = Dispatch.objects.get(pk=dispatch_id)
        if dispatch.status != Dispatch.Status.ACCEPTED:
            return
        dispatch_ship(dispatch=dispatch, parcels=[_parcel(dispatch)], actor=self.supplier_user, supplier=self.supplier)
        dispatch_changed(dispatch_id=dispatch_id, actor=self.supplier_user)  # the worker, after the commit


def _parcel(dispatch: Dispatch) -> ParcelSpec:
    """SF Express inside China, Cainiao's AliExpress-standard line abroad; numbers made from the dispatch id."""
    if (dispatch.ship_to or {}).get("country") == "CN":
        return ParcelSpec("sf", f"SF{1_460_000_000_000 + dispatch.pk * 7_919:013d}")
    return ParcelSpec("cainiao", f"LP{14_000_000_000_000 + dispatch.pk * 6_133:014d}")


def _phone_sheet(order_number: str, order: PhoneOrder, *, placed: dt.datetime) -> bytes:
    """The merchant's spreadsheet of one phone order, in the order import's template."""
    common = {
        "order_number": order_number,
        "placed_at": placed.astimezone(_SHANGHAI).isoformat(timespec="minutes"),
        "currency": "CNY",
        "buyer_name": order.buyer,
        "buyer_phone": order.phone,
        "country": "CN",
        "province": order.province,
        "city": order.city,
        "district": order.district,
        "address1": order.address,
        "postal_code": order.postal_code,
        "shipping": Decimal("0.00"),
        "note": order.note,
    }
    rows = [
        {**common, "sku": sku, "title": _TITLES[sku], "quantity": quantity, "unit_price": _PRICES[sku]}
        for sku, quantity in order.lines
    ]
    return spreadsheets.template_csv(columns=TEMPLATE_COLUMNS, rows=rows)

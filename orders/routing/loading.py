"""Loading a routing batch's inputs from the database into the engine's plain data, once per batch.

Every function here runs a fixed number of queries whatever the size of the
batch: routing 10 orders or 10,000 costs the same round trips. Nothing here
writes; ``load_stock(lock=True)`` takes row locks for the caller's
transaction, in primary-key order so concurrent batches cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import orjson
from django.db import connection

from inventory import models as inventory
from inventory.listings import listing_components
from inventory.stock import stock_levels
from orders import models
from orders.routing.core.types import (
    AddressSnapshot,
    Catalog,
    Component,
    LineSnapshot,
    ListingTarget,
    OrderSnapshot,
    Product,
    Region,
    Rule,
    RuleSet,
    Source,
    StockLedger,
    SupplierRecord,
)
from suppliers import scorecard


def active_ruleset() -> models.RuleSet | None:
    """The rule set routing uses now, with its rules; None when the tenant has not activated one."""
    return models.RuleSet.objects.filter(status=models.RuleSet.Status.ACTIVE).prefetch_related("rules").first()


def ruleset_snapshot(ruleset: models.RuleSet | None) -> RuleSet:
    """The engine's view of a stored rule set; None is version 0 with no rules (the defaults)."""
    if ruleset is None:
        return RuleSet(version=0, rules=())
    rules = sorted(ruleset.rules.all(), key=lambda rule: (rule.position, rule.pk))
    return RuleSet(
        version=ruleset.version,
        rules=tuple(
            Rule(rule_id=rule.pk, kind=rule.kind, enabled=rule.enabled, params=dict(rule.params), name=rule.name)
            for rule in rules
        ),
    )


def _tags(text: str) -> tuple[str, ...]:
    return tuple(tag for tag in (part.strip() for part in text.split(",")) if tag)


def order_snapshot(order: models.Order) -> OrderSnapshot:
    """One order as the engine reads it; its lines and store should be loaded already (see order_snapshots)."""
    return OrderSnapshot(
        order_id=order.pk,
        store_id=order.store_id,
        channel=order.store.channel,
        currency=order.currency,
        total=order.total,
        placed_at=order.placed_at,
        buyer_note=order.note,
        tags=_tags(order.tags),
        buyer_email=order.buyer_email,
        address=AddressSnapshot(
            country=order.ship_country,
            province=order.ship_province,
            city=order.ship_city,
            district=order.ship_district,
            line1=order.ship_line1,
            postal_code=order.ship_postal_code,
            name=order.ship_name or order.buyer_name,
            phone=order.ship_phone or order.buyer_phone,
        ),
        lines=tuple(
            LineSnapshot(
                line_id=line.pk,
                listing_sku=line.listing_sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net_amount=line.net_amount,
            )
            for line in sorted(order.lines.all(), key=lambda line: (line.position, line.pk))
        ),
    )


def order_snapshots(orders: Iterable[models.Order]) -> list[OrderSnapshot]:
    """Snapshots of orders loaded with ``select_related("store")`` and ``prefetch_related("lines")``."""
    return [order_snapshot(order) for order in orders]


ORDER_ROW_FIELDS = (
    "pk", "store_id", "store__channel", "order_number", "status", "auto_routed", "currency", "total",
    "placed_at", "note", "tags", "buyer_email", "buyer_name", "buyer_phone", "ship_name", "ship_country",
    "ship_province", "ship_city", "ship_district", "ship_line1", "ship_line2", "ship_postal_code", "ship_phone",
)  # fmt: skip
LINE_ROW_FIELDS = ("pk", "order_id", "position", "listing_sku", "quantity", "unit_price", "net_amount")


def order_rows(*, order_ids: Iterable[int], lock: bool) -> tuple[list[dict], dict[int, list[tuple]]]:
    """What routing reads of orders, as plain rows in id order, and their lines' rows by order id (two queries).

    Lighter than model instances for big batches. With ``lock`` the orders stay
    locked FOR UPDATE (not their stores) until the caller's transaction ends.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return [], {}
    query = models.Order.objects.filter(pk__in=ids).order_by("pk")
    if lock:
        query = query.select_for_update(of=("self",))
    orders = list(query.values(*ORDER_ROW_FIELDS))
    lines: dict[int, list[tuple]] = {}
    for row in (
        models.OrderLine.objects.filter(order_id__in=[o["pk"] for o in orders])
        .order_by("order_id", "position", "pk")
        .values_list(*LINE_ROW_FIELDS)
    ):
        lines.setdefault(row[1], []).append(row)
    return orders, lines


def ship_to_snapshot(row: dict) -> tuple[dict, str, str]:
    """What a dispatch keeps of its order's buyer (``order_rows``' row): ship-to address, buyer name, buyer e-mail."""
    ship_to = {
        "name": row["ship_name"] or row["buyer_name"],
        "phone": row["ship_phone"] or row["buyer_phone"],
        "line1": row["ship_line1"],
        "line2": row["ship_line2"],
        "district": row["ship_district"],
        "city": row["ship_city"],
        "province": row["ship_province"],
        "postal_code": row["ship_postal_code"],
        "country": row["ship_country"],
    }
    return ship_to, row["buyer_name"] or row["ship_name"], row["buyer_email"]


def snapshot_from_row(row: dict, lines: Iterable[tuple]) -> OrderSnapshot:
    """An OrderSnapshot from ``order_rows``' rows (the same as order_snapshot of the model)."""
    return OrderSnapshot(
        order_id=row["pk"],
        store_id=row["store_id"],
        channel=row["store__channel"],
        currency=row["currency"],
        total=row["total"],
        placed_at=row["placed_at"],
        buyer_note=row["note"],
        tags=_tags(row["tags"]),
        buyer_email=row["buyer_email"],
        address=AddressSnapshot(
            country=row["ship_country"],
            province=row["ship_province"],
            city=row["ship_city"],
            district=row["ship_district"],
            line1=row["ship_line1"],
            postal_code=row["ship_postal_code"],
            name=row["ship_name"] or row["buyer_name"],
            phone=row["ship_phone"] or row["buyer_phone"],
        ),
        lines=tuple(
            LineSnapshot(line_id=pk, listing_sku=sku, quantity=quantity, unit_price=price, net_amount=net)
            for pk, _order_id, _position, sku, quantity, price, net in lines
        ),
    )


def _regions(value) -> tuple[Region, ...]:
    if not isinstance(value, list):
        return ()
    regions = []
    for item in value:
        if isinstance(item, dict) and item.get("country"):
            regions.append(Region(country=str(item["country"]), province=str(item.get("province") or "")))
    return tuple(regions)


def supplier_records(*, supplier_ids: Iterable[int]) -> dict[int, SupplierRecord]:
    """Each supplier's record from its dispatches of the last months (suppliers.scorecard's figures).

    The rejection rate is rejected / decided (accepted, shipped or rejected;
    pending and merchant-cancelled dispatches say nothing about the supplier);
    the on-time rate is shipped by the ship-by deadline / shipped with one. A
    supplier with no shipped dispatch that had a deadline has no record yet
    (``shipped`` 0): the strategy ranks it after those that have one. One query.
    """
    return {
        supplier_id: SupplierRecord(
            supplier_id=supplier_id,
            on_time_rate=record.on_time_rate,
            rejection_rate=record.rejection_rate,
            shipped=record.with_deadline,
        )
        for supplier_id, record in scorecard.supplier_records(supplier_ids=supplier_ids).items()
    }


_SUPPLIER_TABLE = inventory.Source._meta.get_field("supplier").related_model._meta.db_table
_PRODUCTS_SQL = f"SELECT id, sku, name, active FROM {inventory.Product._meta.db_table} WHERE id = ANY(%s)"  # noqa: S608
# In path order (position, then id), as the ORM's default ordering of sources gives them.
_SOURCES_SQL = f"""
    SELECT s.id, s.product_id, s.position, s.supplier_id, s.cost_price, s.currency, s.regions, s.lead_time_days,
           s.active, sp.active
    FROM {inventory.Source._meta.db_table} s LEFT JOIN {_SUPPLIER_TABLE} sp ON sp.id = s.supplier_id
    WHERE s.product_id = ANY(%s)
    ORDER BY s.product_id, s.position, s.id
"""  # noqa: S608


def load_catalog(*, listing_skus: Iterable[str], product_ids: Iterable[int] = (), records: bool = True) -> Catalog:
    """The listings named, their products, every source of those products, and their suppliers' records.

    ``product_ids`` adds products routed without a listing (gift products of
    the rule set, lines re-routed after a rejection). ``records=False`` leaves
    the suppliers' records out, for a rule set whose strategy does not read them
    (Strategy.uses_records): they sum every dispatch of the last months. Four
    queries at most.
    """
    components = {
        sku: [Component(product_id=product_id, quantity=quantity) for product_id, quantity in parts]
        for sku, parts in listing_components(listing_skus=listing_skus).items()
    }
    listings = {sku: ListingTarget(components=tuple(parts)) for sku, parts in components.items()}

    wanted = {c.product_id for parts in components.values() for c in parts} | set(product_ids)
    products: dict[int, Product] = {}
    sources: dict[int, list[Source]] = defaultdict(list)
    if wanted:
        with connection.cursor() as cursor:
            # Arrays, not IN lists: a batch names thousands of products, which the ORM would prepare one by one.
            cursor.execute(_PRODUCTS_SQL, [sorted(wanted)])
            for pk, sku, name, active in cursor.fetchall():
                products[pk] = Product(product_id=pk, sku=sku, name=name, active=active)
            cursor.execute(_SOURCES_SQL, [sorted(products)])
            rows = cursor.fetchall()
        for pk, product_id, position, supplier_id, cost, currency, regions, lead_time, active, supplier_active in rows:
            sources[product_id].append(
                Source(
                    source_id=pk,
                    product_id=product_id,
                    position=position,
                    supplier_id=supplier_id,
                    cost_price=cost,
                    currency=currency,
                    regions=_regions(orjson.loads(regions) if isinstance(regions, str | bytes) else regions),
                    lead_time_days=lead_time,
                    active=active,
                    supplier_active=supplier_active is not False,
                )
            )
    suppliers = {s.supplier_id for path in sources.values() for s in path if s.supplier_id is not None}
    return Catalog(
        listings=listings,
        products=products,
        sources={product_id: tuple(path) for product_id, path in sources.items()},
        supplier_records=supplier_records(supplier_ids=suppliers) if records else {},
    )


def load_stock(*, source_ids: Iterable[int], lock: bool) -> StockLedger:
    """Available units (on hand − reserved) per source that has a Stock row; other sources stay untracked.

    With ``lock`` the rows stay locked until the caller's transaction ends, so
    what the ledger says is available cannot be reserved by anyone else first.
    """
    levels = stock_levels(source_ids=source_ids, lock=lock)
    return StockLedger({source_id: on_hand - reserved for source_id, (on_hand, reserved) in levels.items()})

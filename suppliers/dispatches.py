"""Dispatch services: what routing writes in bulk, and what a supplier does with a dispatch.

Routing (orders.routing, a layer above) decides; this module writes the
dispatches and their lines, takes lines off, and cancels dispatches left
empty, always through the dispatch state machine (suppliers.dispatch_states).

What a supplier does with a dispatch is suppliers.actions (accept, reject,
accept in part) and suppliers.shipping (parcels); what that means for the
orders and the stock (reservations given back or consumed, rejected lines
routed on, the order shipped) is the order lifecycle's business: it runs as
the task DISPATCH_CHANGED, sent after the commit, which is safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count

from core.bulk import copy_rows, json_text, sequence_ids
from suppliers.dispatch_states import dispatch_note, dispatches_transition
from suppliers.models import Dispatch, DispatchLine, Supplier

D = Dispatch.Status

# The order lifecycle's task (orders/tasks.py) that follows a supplier's rejection or shipment.
DISPATCH_CHANGED = "orders.dispatch_changed"
# The same for many dispatches at once (a tracking upload): args (dispatch ids, actor id).
DISPATCHES_CHANGED = "orders.dispatches_changed"

OPEN = (D.PENDING, D.ACCEPTED)
LIVE = (D.PENDING, D.ACCEPTED, D.SHIPPED)

_DISPATCH_COLUMNS = (
    "id", "number", "supplier_id", "status", "merge_key", "ruleset_version", "reason", "reject_code", "ship_to",
    "buyer_name", "buyer_email", "accept_by", "ship_by", "created", "updated",
)  # fmt: skip
_LINE_COLUMNS = (
    "dispatch_id", "order_id", "order_line_id", "listing_sku", "product_id", "source_id", "quantity", "is_gift",
    "unit_cost", "cost_currency", "reserved",
)  # fmt: skip


class StoredLine(NamedTuple):
    """A dispatch line as routing reads it, with its dispatch's status."""

    pk: int
    dispatch_id: int
    order_id: int
    order_line_id: int | None
    product_id: int
    source_id: int
    quantity: int
    is_gift: bool
    reserved: int
    listing_sku: str
    status: str


_STORED_FIELDS = (
    "pk", "dispatch_id", "order_id", "order_line_id", "product_id", "source_id", "quantity",
    "is_gift", "reserved", "listing_sku", "dispatch__status",
)  # fmt: skip


class LockedDispatch(NamedTuple):
    """A dispatch locked for routing (its own, or one its orders may merge into), as far as routing reads it."""

    pk: int
    supplier_id: int | None
    status: str
    merge_key: str
    created: dt.datetime


class NewLine(NamedTuple):
    """A line routing adds to a dispatch."""

    dispatch_id: int
    order_id: int
    order_line_id: int | None
    listing_sku: str
    product_id: int
    source_id: int
    quantity: int
    is_gift: bool
    unit_cost: Decimal
    cost_currency: str
    reserved: int


# ---------------------------------------------------------------------------
# Reads for routing


def dispatch_number(dispatch_id: int) -> str:
    """The dispatch's readable number: D and its id, zero-padded to eight digits."""
    return f"D{dispatch_id:08d}"


def dispatch_lines_of_orders(*, order_ids: Sequence[int]) -> list[StoredLine]:
    """Every dispatch line of these orders, in id order, with its dispatch's status. One query."""
    return [
        StoredLine(*row)
        for row in DispatchLine.objects.filter(order_id__in=order_ids).order_by("pk").values_list(*_STORED_FIELDS)
    ]


def dispatch_order_ids(*, dispatch_id: int) -> list[int]:
    """The orders a dispatch carries lines of."""
    return list(
        DispatchLine.objects.filter(dispatch_id=dispatch_id).values_list("order_id", flat=True).distinct().order_by()
    )


def dispatch_statuses_of_orders(*, order_ids: Sequence[int]) -> dict[int, list[str]]:
    """The status of the dispatch of each line, per order."""
    statuses: dict[int, list[str]] = defaultdict(list)
    for order_id, status in DispatchLine.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "dispatch__status"
    ):
        statuses[order_id].append(status)
    return statuses


def merge_groups_lock(*, merge_keys: Sequence[str]) -> None:
    """Serialise routing per merge group: a transaction-level advisory lock per key, taken in key order.

    Two batches routing orders of one buyer at once would each miss the
    dispatch the other is about to write and make a second one; with the group
    locked, the later batch reads the earlier one's dispatch after it commits.
    Locks are taken sorted in one statement, so batches sharing groups queue up
    rather than deadlock; they are released when the transaction ends. The key
    carries the schema: advisory locks are database-wide, tenants must not
    wait on each other.
    """
    if not merge_keys:
        return
    prefix = f"{connection.schema_name}:merge:"
    keys = sorted(
        {int.from_bytes(hashlib.blake2b((prefix + key).encode(), digest_size=8).digest(), "big", signed=True) for key in merge_keys}
    )  # fmt: skip
    with connection.cursor() as cursor:
        # unnest yields the array in its order and the aggregate calls the function row by row, in that order.
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys])


def dispatches_lock(*, ids: Sequence[int], merge_keys: Sequence[str], since: dt.datetime) -> dict[int, LockedDispatch]:
    """Lock these dispatches and the pending ones of these merge keys created since ``since``, in id order.

    The merge groups are locked first (``merge_groups_lock``), so the read sees
    every dispatch of those groups committed by a batch that held them before.
    Arrays, not IN lists: a batch's thousand merge keys are one parameter. Two
    index scans joined by UNION in a sub-select: an OR of the two conditions
    makes PostgreSQL scan the whole table. Plain rows, not models: a batch
    locks thousands of merge candidates and reads five columns of them.
    """
    if not (ids or merge_keys):
        return {}
    merge_groups_lock(merge_keys=merge_keys)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, supplier_id, status, merge_key, created FROM suppliers_dispatch
            WHERE id IN (
                SELECT unnest(%s::bigint[])
                UNION
                SELECT id FROM suppliers_dispatch WHERE merge_key = ANY(%s) AND status = %s AND created >= %s
            )
            ORDER BY id FOR UPDATE
            """,
            [list(ids), list(merge_keys), D.PENDING, since],
        )
        return {row[0]: LockedDispatch(*row) for row in cursor.fetchall()}


def dispatches_lock_by_id(*, ids: Sequence[int]) -> dict[int, Dispatch]:
    """Lock these dispatches, in id order; their status as locked is the truth from now on."""
    return {d.pk: d for d in Dispatch.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


# ---------------------------------------------------------------------------
# Writes for routing


def dispatch_ids_allocate(*, count: int) -> list[int]:
    """Ids for new dispatches, from the table's own sequence: unique under any concurrency, no lock needed."""
    return sequence_ids(Dispatch._meta.db_table, count=count)


class NewDispatch(NamedTuple):
    """A dispatch routing writes: its id, supplier, merge key, rule set version and the snapshot of its buyer."""

    pk: int
    supplier_id: int | None
    merge_key: str
    ruleset_version: int | None
    ship_to: dict
    buyer_name: str
    buyer_email: str


def dispatches_insert(*, dispatches: Iterable[NewDispatch], now: dt.datetime) -> int:
    """Write new pending dispatches in one COPY, with their deadlines from their suppliers' terms.

    Accept-by and ship-by count from ``now`` (routing's moment); the own
    warehouse (no supplier) has none.
    """
    dispatches = list(dispatches)
    terms = dict(
        (pk, (dt.timedelta(hours=accept), dt.timedelta(hours=ship)))
        for pk, accept, ship in Supplier.objects.filter(
            pk__in={d.supplier_id for d in dispatches if d.supplier_id is not None}
        ).values_list("pk", "accept_within_hours", "ship_within_hours")
    )
    rows = []
    for d in dispatches:
        accept, ship = terms.get(d.supplier_id, (None, None))  # type: ignore[arg-type]
        rows.append(
            (
                d.pk, dispatch_number(d.pk), d.supplier_id, D.PENDING, d.merge_key, d.ruleset_version, "", "",
                json_text(d.ship_to), d.buyer_name[:200], d.buyer_email[:254], accept and now + accept,
                ship and now + ship, now, now,
            )
        )  # fmt: skip
    return copy_rows("suppliers_dispatch", _DISPATCH_COLUMNS, rows)


def dispatch_lines_insert(*, lines: Iterable[NewLine]) -> int:
    """Write new dispatch lines in one COPY; their reservations are the caller's to take (inventory.stock)."""
    return copy_rows("suppliers_dispatchline", _LINE_COLUMNS, lines)


def dispatch_lines_release(
    *, released: Sequence[StoredLine], receiving: set[int], actor=None, actor_label: str, reason: str
) -> None:
    """Take released pending lines off their dispatches; a dispatch left with none is cancelled.

    A cancelled dispatch keeps its lines as the record, holding nothing; from a
    dispatch that keeps others (or receives new ones, ``receiving``) they are
    deleted. The dispatches must be locked by the caller. Stock is the caller's.
    """
    if not released:
        return
    totals = dict(
        DispatchLine.objects.filter(dispatch_id__in={line.dispatch_id for line in released})
        .values("dispatch_id")
        .annotate(n=Count("id"))
        .values_list("dispatch_id", "n")
        .order_by()
    )
    gone: dict[int, int] = defaultdict(int)
    for line in released:
        gone[line.dispatch_id] += 1
    emptied = sorted(pk for pk, n in gone.items() if n == totals.get(pk) and pk not in receiving)
    kept_as_record = {line.pk for line in released if line.dispatch_id in set(emptied)}
    DispatchLine.objects.filter(pk__in=sorted(kept_as_record)).update(reserved=0)
    taken_off = sorted({line.pk for line in released} - kept_as_record)
    if taken_off:
        DispatchLine.objects.filter(pk__in=taken_off).delete()
    if emptied:
        dispatches_transition(
            dispatches=list(Dispatch.objects.filter(pk__in=emptied).order_by("pk")),
            to=D.CANCELLED,
            actor=actor,
            actor_label=actor_label,
            reason=reason,
        )


def dispatches_intercept(
    *, open_lines: Sequence[StoredLine], locked: dict[int, Dispatch], order_ids: Sequence[int], reason: str
) -> tuple[int, dict[int, int]]:
    """Release the open lines of cancelled orders: their dispatches are cancelled, or, when merged with
    other orders, the lines are taken off. Returns how many dispatches were cancelled and the units
    each source must give back (the caller's, in inventory.stock)."""
    given_back: dict[int, int] = defaultdict(int)
    for line in open_lines:
        given_back[line.source_id] += line.reserved
    open_ids = sorted({line.dispatch_id for line in open_lines})
    shared = set(
        DispatchLine.objects.filter(dispatch_id__in=open_ids)
        .exclude(order_id__in=order_ids)
        .values_list("dispatch_id", flat=True)
    )
    intercepted = [locked[pk] for pk in open_ids if pk not in shared]
    DispatchLine.objects.filter(pk__in=[line.pk for line in open_lines if line.dispatch_id not in shared]).update(
        reserved=0
    )
    taken_off = [line for line in open_lines if line.dispatch_id in shared]
    if taken_off:
        dispatch_note(
            notes=[
                (dispatch_id, f"{reason} The lines of order {order_id} were taken off this merged dispatch.")
                for dispatch_id, order_id in sorted({(line.dispatch_id, line.order_id) for line in taken_off})
            ],
            actor_label="channel",
        )
        DispatchLine.objects.filter(pk__in=[line.pk for line in taken_off]).delete()
    dispatches_transition(dispatches=intercepted, to=D.CANCELLED, actor_label="channel", reason=reason)
    return len(intercepted), dict(given_back)


def dispatch_lines_unreserve(*, dispatch_id: int) -> dict[int, int]:
    """Clear what a dispatch's lines hold in stock; returns those units per source, for the caller to give
    back or consume. Run again it returns nothing: the lines hold nothing any more."""
    lines = DispatchLine.objects.filter(dispatch_id=dispatch_id, reserved__gt=0)
    units: dict[int, int] = defaultdict(int)
    for source_id, reserved in lines.values_list("source_id", "reserved"):
        units[source_id] += reserved
    if units:
        lines.update(reserved=0)
    return dict(units)
